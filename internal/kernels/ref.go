package kernels

// The pure-Go reference kernels. They define the results: every SIMD kernel
// performs the same float32 operations in the same order, so its output is
// bit-identical. Each product that is added or subtracted is converted to
// float32 explicitly: the Go spec lets a compiler fuse x*y+z into one FMA
// (arm64, ppc64, s390x and amd64 with GOAMD64=v3 do), and an explicit
// conversion forbids that, so these loops round the same way everywhere.

func refNonZero(idx []int32, val []float32, x []float32, mask []uint64, bit uint64) int {
	c := 0
	for k, v := range x {
		if v != 0 {
			idx[c] = int32(k)
			val[c] = v
			c++
			if mask != nil {
				mask[k] |= bit
			}
		}
	}
	return c
}

func refNonZeroU8(idx []int32, val []float32, src []uint8, lut *[256]float32) int {
	c := 0
	for k, b := range src {
		if b != 0 {
			idx[c] = int32(k)
			if lut != nil {
				val[c] = lut[b]
			} else {
				val[c] = float32(b)
			}
			c++
		}
	}
	return c
}

func refAccumRows(z, w []float32, stride int, idx []int32, val []float32) {
	u := len(z)
	for i, v := range val {
		o := int(idx[i]) * stride
		wr := w[o : o+u]
		for j := range z {
			z[j] += float32(v * wr[j])
		}
	}
}

func refScatterRows(g []float32, stride int, idx []int32, val []float32, d []float32) {
	u := len(d)
	for i, v := range val {
		o := int(idx[i]) * stride
		gr := g[o : o+u]
		for j := range gr {
			gr[j] += float32(v * d[j])
		}
	}
}

func refCopyRows(dst []float32, dstStride int, src []float32, srcStride int, rows, width int, clearSrc bool) {
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:r*srcStride+width])
		if clearSrc {
			clear(src[r*srcStride : r*srcStride+width])
		}
	}
}

func refGradRows(g []float32, x []float32, in int, dz []float32, u int, mask []uint64, n, k0, k1 int) {
	words := (n + 63) / 64
	for k := k0; k < k1; k++ {
		gk := g[k*u : (k+1)*u]
		clear(gk)
		for wd := 0; wd < words; wd++ {
			m := mask[wd*in+k] & rowBits(wd, 0, n)
			for r := wd * 64; m != 0; m, r = m>>1, r+1 {
				if m&1 == 0 {
					continue
				}
				xv := x[r*in+k]
				dzr := dz[r*u : (r+1)*u]
				for j := range gk {
					gk[j] += float32(xv * dzr[j])
				}
			}
		}
	}
}

func refSGD(w, g []float32, lr float32) {
	g = g[:len(w)]
	for j := range w {
		w[j] -= float32(lr * g[j])
	}
}

func refAdam(w, g, m, v []float32, alpha, c1, c2, eps float32) {
	g, m, v = g[:len(w)], m[:len(w)], v[:len(w)]
	for j := range w {
		m[j] += float32((g[j] - m[j]) * c1)
		v[j] += float32((float32(g[j]*g[j]) - v[j]) * c2)
		w[j] -= float32(alpha*m[j]) / (sqrt32(v[j]) + eps)
	}
}

// refTranspose walks 16×16 tiles: row by row, each value of a wide row
// went to another cache line of dst (a 512×512 matrix: 1.5–2.3 ms; tiled,
// 0.24).
func refTranspose(dst []float32, ldDst int, src []float32, ldSrc, rows, cols int) {
	const tile = 16
	for a := 0; a < rows; a += tile {
		ae := min(rows, a+tile)
		for b := 0; b < cols; b += tile {
			be := min(cols, b+tile)
			for i := a; i < ae; i++ {
				for j, v := range src[i*ldSrc+b : i*ldSrc+be] {
					dst[(b+j)*ldDst+i] = v
				}
			}
		}
	}
}

func refRMSprop(w, g, r []float32, lr, rho, c, eps float32) {
	g, r = g[:len(w)], r[:len(w)]
	for j := range w {
		r[j] = float32(rho*r[j]) + float32(float32(c*g[j])*g[j])
		w[j] -= float32(lr*g[j]) / sqrt32(r[j]+eps)
	}
}

func refU8ToF32(dst []float32, src []uint8) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = float32(v)
	}
}

func refU8Lookup(dst []float32, src []uint8, lut *[256]float32) {
	dst = dst[:len(src)]
	for j, v := range src {
		dst[j] = lut[v]
	}
}

func refAccumCols(z, w, x []float32, in, u int, mask []uint64, r0, r1, k0, k1, c0, c1 int) {
	for k := k0; k < k1; k++ {
		wk := w[k*u+c0 : k*u+c1]
		for wd := r0 / 64; wd*64 < r1; wd++ {
			m := mask[wd*in+k] & rowBits(wd, r0, r1)
			for r := wd * 64; m != 0; m, r = m>>1, r+1 {
				if m&1 == 0 {
					continue
				}
				xv := x[r*in+k]
				zr := z[r*u+c0 : r*u+c1]
				for j := range zr {
					zr[j] += float32(xv * wk[j])
				}
			}
		}
	}
}

// rowBits is the bits of mask word wd (rows wd·64 … wd·64+63) that stand
// for rows r0 … r1−1.
func rowBits(wd, r0, r1 int) uint64 {
	lo, hi := max(r0-wd*64, 0), min(r1-wd*64, 64)
	if lo >= hi {
		return 0
	}
	m := ^uint64(0) << lo
	if hi < 64 {
		m &= 1<<hi - 1
	}
	return m
}

func refChannelMoments(sum, sq []float64, x []float32) {
	c := len(sum)
	sq = sq[:c]
	for i := 0; i < len(x); i += c {
		for k, v := range x[i : i+c] {
			f := float64(v)
			sum[k] += f
			sq[k] += f * f // exact, so fusing could not change the sum
		}
	}
}

func refChannelAffine(y, x, a, off []float32) {
	c := len(a)
	off = off[:c]
	for i := 0; i < len(x); i += c {
		xs := x[i : i+c]
		ys := y[i : i+c]
		for k, v := range xs {
			ys[k] = float32(v*a[k]) + off[k]
		}
	}
}

func refNormGradSums(sum, sumXhat []float64, x, dy, mean, inv []float32) {
	c := len(mean)
	sum, sumXhat, inv = sum[:c], sumXhat[:c], inv[:c]
	for i := 0; i < len(x); i += c {
		g := dy[i : i+c]
		for k, v := range x[i : i+c] {
			xh := (v - mean[k]) * inv[k]
			sum[k] += float64(g[k])
			sumXhat[k] += float64(g[k]) * float64(xh) // exact, as above
		}
	}
}

func refNormGrad(dx, x, dy, a, q, r, mean, inv []float32) {
	c := len(mean)
	a, q, r, inv = a[:c], q[:c], r[:c], inv[:c]
	for i := 0; i < len(x); i += c {
		g, d := dy[i:i+c], dx[i:i+c]
		for k, v := range x[i : i+c] {
			xh := (v - mean[k]) * inv[k]
			d[k] = float32(a[k]*g[k]) + q[k] - float32(r[k]*xh)
		}
	}
}
