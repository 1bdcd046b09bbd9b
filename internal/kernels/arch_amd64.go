//go:build !purego

package kernels

import (
	"math"
	"math/bits"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// best is the best level this CPU supports. The SIMD kernels need AVX2,
// FMA (for the exact float64 products of the channel sums), BMI1 (TZCNT,
// BLSR), BMI2 (BZHI) and POPCNT; the AVX-512 ones also need
// AVX-512 F, BW, DQ and VL. x/sys/cpu also checks that the OS saves the
// vector registers.
func best() Level {
	x := &cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasBMI1 && x.HasBMI2 && x.HasPOPCNT) {
		return Generic
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512DQ && x.HasAVX512VL {
		return AVX512
	}
	return AVX2
}

// The block kernels are called directly (not through function values) so
// that their noescape pragmas hold and no argument escapes to the heap.

func accum512(nv int, z, w *float32, stride int, idx *int32, val *float32, n, tail int) {
	switch nv {
	case 1:
		accumRows512x1(z, w, stride, idx, val, n, tail)
	case 2:
		accumRows512x2(z, w, stride, idx, val, n, tail)
	case 3:
		accumRows512x3(z, w, stride, idx, val, n, tail)
	case 4:
		accumRows512x4(z, w, stride, idx, val, n, tail)
	case 5:
		accumRows512x5(z, w, stride, idx, val, n, tail)
	case 6:
		accumRows512x6(z, w, stride, idx, val, n, tail)
	case 7:
		accumRows512x7(z, w, stride, idx, val, n, tail)
	case 8:
		accumRows512x8(z, w, stride, idx, val, n, tail)
	}
}

func accum256(nv int, z, w *float32, stride int, idx *int32, val *float32, n, tail int) {
	switch nv {
	case 1:
		accumRows256x1(z, w, stride, idx, val, n, tail)
	case 2:
		accumRows256x2(z, w, stride, idx, val, n, tail)
	case 3:
		accumRows256x3(z, w, stride, idx, val, n, tail)
	case 4:
		accumRows256x4(z, w, stride, idx, val, n, tail)
	case 5:
		accumRows256x5(z, w, stride, idx, val, n, tail)
	case 6:
		accumRows256x6(z, w, stride, idx, val, n, tail)
	case 7:
		accumRows256x7(z, w, stride, idx, val, n, tail)
	case 8:
		accumRows256x8(z, w, stride, idx, val, n, tail)
	}
}

func accumCols512(nv int, z, w, x *float32, in, u int, mask *uint64, last uint64, tail, kn int) {
	switch nv {
	case 1:
		accumCols512x1(z, w, x, in, u, mask, last, tail, kn)
	case 2:
		accumCols512x2(z, w, x, in, u, mask, last, tail, kn)
	case 3:
		accumCols512x3(z, w, x, in, u, mask, last, tail, kn)
	case 4:
		accumCols512x4(z, w, x, in, u, mask, last, tail, kn)
	case 5:
		accumCols512x5(z, w, x, in, u, mask, last, tail, kn)
	case 6:
		accumCols512x6(z, w, x, in, u, mask, last, tail, kn)
	case 7:
		accumCols512x7(z, w, x, in, u, mask, last, tail, kn)
	case 8:
		accumCols512x8(z, w, x, in, u, mask, last, tail, kn)
	}
}

func accumTile512(nv int, z, w, x *float32, in, u int, mask *uint64, shift, tail, kn int) {
	switch nv {
	case 1:
		accumTile512x1(z, w, x, in, u, mask, shift, tail, kn)
	case 2:
		accumTile512x2(z, w, x, in, u, mask, shift, tail, kn)
	case 3:
		accumTile512x3(z, w, x, in, u, mask, shift, tail, kn)
	case 4:
		accumTile512x4(z, w, x, in, u, mask, shift, tail, kn)
	}
}

func grad512(nv int, g, x *float32, in int, dz *float32, u int, mask *uint64, last uint64, accum, tail, kn int) {
	switch nv {
	case 1:
		gradRows512x1(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 2:
		gradRows512x2(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 3:
		gradRows512x3(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 4:
		gradRows512x4(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 5:
		gradRows512x5(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 6:
		gradRows512x6(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 7:
		gradRows512x7(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 8:
		gradRows512x8(g, x, in, dz, u, mask, last, accum, tail, kn)
	}
}

func grad256(nv int, g, x *float32, in int, dz *float32, u int, mask *uint64, last uint64, accum, tail, kn int) {
	switch nv {
	case 1:
		gradRows256x1(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 2:
		gradRows256x2(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 3:
		gradRows256x3(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 4:
		gradRows256x4(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 5:
		gradRows256x5(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 6:
		gradRows256x6(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 7:
		gradRows256x7(g, x, in, dz, u, mask, last, accum, tail, kn)
	case 8:
		gradRows256x8(g, x, in, dz, u, mask, last, accum, tail, kn)
	}
}

// maxVec is the number of vectors the block kernels keep in registers.
const maxVec = 8

// lanes is the number of float32 lanes of a vector at the current level.
func lanes() int {
	if level == AVX512 {
		return 16
	}
	return 8
}

// block splits a column block of width ≥ 1 into vectors: their number and
// the lanes used in the last one.
func block(width, lanes int) (nv, tail int) {
	nv = (width + lanes - 1) / lanes
	return nv, width - (nv-1)*lanes
}

func nonZeroArch(idx []int32, val []float32, x []float32, mask []uint64, bit uint64) (int, bool) {
	var mp *uint64
	if mask != nil {
		mp = &mask[0]
	}
	switch level {
	case AVX512:
		return nonZero512(&idx[0], &val[0], &x[0], len(x), mp, bit), true
	case AVX2:
		return nonZero256(&idx[0], &val[0], &x[0], len(x), mp, bit), true
	}
	return 0, false
}

func nonZeroU8Arch(idx []int32, val []float32, src []uint8, lut *[256]float32) (int, bool) {
	switch {
	case level == AVX512:
		return nonZeroU8512(&idx[0], &val[0], &src[0], len(src), lut), true
	case level == AVX2:
		return nonZeroU8256(&idx[0], &val[0], &src[0], len(src), lut), true
	}
	return 0, false
}

func accumRowsArch(z, w []float32, stride int, idx []int32, val []float32) bool {
	if level < AVX2 {
		return false
	}
	l := lanes()
	width := maxVec * l
	for jb := 0; jb < len(z); jb += width {
		nv, tail := block(min(width, len(z)-jb), l)
		if level == AVX512 {
			accum512(nv, &z[jb], &w[jb], stride, &idx[0], &val[0], len(val), tail)
		} else {
			accum256(nv, &z[jb], &w[jb], stride, &idx[0], &val[0], len(val), tail)
		}
	}
	return true
}

func accumRows2Arch(z0, z1, w []float32, stride int, idx0 []int32, val0 []float32, idx1 []int32, val1 []float32) bool {
	if level < AVX2 {
		return false
	}
	l := lanes()
	if len(z0) > 2*l {
		return false
	}
	nv, tail := block(len(z0), l)
	i0, v0, n0 := &idx0[0], &val0[0], len(val0)
	i1, v1, n1 := &idx1[0], &val1[0], len(val1)
	switch {
	case level == AVX512 && nv == 1:
		accumPair512x1(&z0[0], &z1[0], &w[0], stride, i0, v0, n0, i1, v1, n1, tail)
	case level == AVX512:
		accumPair512x2(&z0[0], &z1[0], &w[0], stride, i0, v0, n0, i1, v1, n1, tail)
	case wholeRows(w, stride, len(z0), nv*l) && nv == 1:
		accumPair256x1whole(&z0[0], &z1[0], &w[0], stride, i0, v0, n0, i1, v1, n1, tail)
	case wholeRows(w, stride, len(z0), nv*l):
		accumPair256x2whole(&z0[0], &z1[0], &w[0], stride, i0, v0, n0, i1, v1, n1, tail)
	case nv == 1:
		accumPair256x1(&z0[0], &z1[0], &w[0], stride, i0, v0, n0, i1, v1, n1, tail)
	default:
		accumPair256x2(&z0[0], &z1[0], &w[0], stride, i0, v0, n0, i1, v1, n1, tail)
	}
	return true
}

// wholeRows reports whether a kernel may read width floats from the start
// of every row of w that holds u values (rows stride apart): the last such
// row's width floats must lie within w's capacity (tensor.NewVariable
// leaves room for it).
func wholeRows(w []float32, stride, u, width int) bool {
	return len(w) >= u && (len(w)-u)/stride*stride+width <= cap(w)
}

func scatterRowsArch(g []float32, stride int, idx []int32, val []float32, d []float32) bool {
	if level < AVX2 {
		return false
	}
	l := lanes()
	width := 2 * l
	for jb := 0; jb < len(d); jb += width {
		nv, tail := block(min(width, len(d)-jb), l)
		switch {
		case level == AVX512 && nv == 1:
			scatterRows512x1(&g[jb], stride, &idx[0], &val[0], len(val), &d[jb], tail)
		case level == AVX512:
			scatterRows512x2(&g[jb], stride, &idx[0], &val[0], len(val), &d[jb], tail)
		case nv == 1:
			scatterRows256x1(&g[jb], stride, &idx[0], &val[0], len(val), &d[jb], tail)
		default:
			scatterRows256x2(&g[jb], stride, &idx[0], &val[0], len(val), &d[jb], tail)
		}
	}
	return true
}

func copyRowsArch(dst []float32, dstStride int, src []float32, srcStride int, rows, width int, clearSrc bool) bool {
	if level < AVX2 {
		return false
	}
	cl := 0
	if clearSrc {
		cl = 1
	}
	l := lanes()
	if level == AVX2 {
		l = 16 // copyRows256 takes two vectors
	}
	for jb := 0; jb < width; jb += l {
		w := min(l, width-jb)
		if level == AVX512 {
			copyRows512(&dst[jb], dstStride, &src[jb], srcStride, rows, w, cl)
		} else {
			copyRows256(&dst[jb], dstStride, &src[jb], srcStride, rows, w, cl)
		}
	}
	return true
}

func gradRowsArch(g, x []float32, in int, dz []float32, u int, mask []uint64, n, k0, k1 int) bool {
	if level < AVX2 {
		return false
	}
	l := lanes()
	width := maxVec * l
	words := (n + 63) / 64
	kn := k1 - k0
	for jb := 0; jb < u; jb += width {
		nv, tail := block(min(width, u-jb), l)
		for wd := 0; wd < words; wd++ {
			last := ^uint64(0)
			if rest := n - wd*64; rest < 64 {
				last = 1<<rest - 1
			}
			accum := 0
			if wd > 0 {
				accum = 1
			}
			gp, xp, dp, mp := &g[k0*u+jb], &x[wd*64*in+k0], &dz[wd*64*u+jb], &mask[wd*in+k0]
			if level == AVX512 {
				grad512(nv, gp, xp, in, dp, u, mp, last, accum, tail, kn)
			} else {
				grad256(nv, gp, xp, in, dp, u, mp, last, accum, tail, kn)
			}
		}
	}
	return true
}

func sgdArch(w, g []float32, lr float32) bool {
	if level < AVX2 {
		return false
	}
	n := len(w) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			sgd512(&w[0], &g[0], n, lr)
		} else {
			sgd256(&w[0], &g[0], n, lr)
		}
	}
	refSGD(w[n:], g[n:], lr)
	return true
}

func adamArch(w, g, m, v []float32, alpha, c1, c2, eps float32) bool {
	if level < AVX2 {
		return false
	}
	n := len(w) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			adam512(&w[0], &g[0], &m[0], &v[0], n, alpha, c1, c2, eps)
		} else {
			adam256(&w[0], &g[0], &m[0], &v[0], n, alpha, c1, c2, eps)
		}
	}
	refAdam(w[n:], g[n:], m[n:], v[n:], alpha, c1, c2, eps)
	return true
}

func transposeArch(dst []float32, ldDst int, src []float32, ldSrc, rows, cols int) bool {
	// The gather's offsets are int32: 16 rows from any row must be in reach.
	if level != AVX512 || int64(min(rows, 16))*int64(ldSrc) >= 1<<31 {
		return false
	}
	transpose512(&dst[0], ldDst, &src[0], ldSrc, rows, cols)
	return true
}

func rmspropArch(w, g, r []float32, lr, rho, c, eps float32) bool {
	if level < AVX2 {
		return false
	}
	n := len(w) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			rmsprop512(&w[0], &g[0], &r[0], n, lr, rho, c, eps)
		} else {
			rmsprop256(&w[0], &g[0], &r[0], n, lr, rho, c, eps)
		}
	}
	refRMSprop(w[n:], g[n:], r[n:], lr, rho, c, eps)
	return true
}

func u8ToF32Arch(dst []float32, src []uint8) bool {
	if level < AVX2 {
		return false
	}
	n := len(src) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			u8ToF32512(&dst[0], &src[0], n)
		} else {
			u8ToF32256(&dst[0], &src[0], n)
		}
	}
	refU8ToF32(dst[n:], src[n:])
	return true
}

func u8LookupArch(dst []float32, src []uint8, lut *[256]float32) bool {
	if level < AVX2 {
		return false
	}
	n := len(src) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			u8Lookup512(&dst[0], &src[0], n, lut)
		} else {
			u8Lookup256(&dst[0], &src[0], n, lut)
		}
	}
	refU8Lookup(dst[n:], src[n:], lut)
	return true
}

func prefetchArch(p unsafe.Pointer, n int) {
	if level >= AVX2 {
		prefetch((*byte)(p), n)
	}
}

// expVariant is the vector math.Exp that matches math.Exp on this CPU:
// 0 none, 1 non-FMA, 2 FMA (see expProbe).
var expVariant = expProbe()

// expProbe finds the vector variant that reproduces math.Exp bit for bit on
// a spread of inputs, including ones whose results differ between the FMA
// and non-FMA variants.
func expProbe() int {
	if best() < AVX2 {
		return 0
	}
	var xs []float64
	for i := -2000; i <= 2000; i++ {
		xs = append(xs, float64(i)*0.37+float64(i%7)*1e-3)
	}
	for i := 0; i < 400; i++ {
		xs = append(xs, -float64(i)/397, float64(i)*1.7e-9, -708.5+float64(i)*0.001)
	}
	got := make([]float64, len(xs))
	for _, v := range []int{2, 1} {
		if v == 2 && !cpu.X86.HasFMA {
			continue
		}
		ok := true
		for _, l := range []Level{AVX2, AVX512} {
			if l > best() {
				continue
			}
			expRun(l, v, got, xs)
			for i, x := range xs {
				if math.Float64bits(got[i]) != math.Float64bits(math.Exp(x)) {
					ok = false
				}
			}
		}
		if ok {
			return v
		}
	}
	return 0
}

func expArch(dst, x []float64) bool {
	if level < AVX2 || expVariant == 0 {
		return false
	}
	expRun(level, expVariant, dst, x)
	return true
}

// expRun computes dst = exp(x) at level l with variant v.
func expRun(l Level, v int, dst, x []float64) {
	if l == AVX2 {
		// exp256 leaves the lanes it did not finish untouched in dst, so
		// x still holds their inputs even when dst is x.
		for i := 0; i < len(x); i += 64 {
			n := min(64, len(x)-i)
			var bad uint64
			if v == 2 {
				bad = expFMA256(&dst[i], &x[i], n)
			} else {
				bad = exp256(&dst[i], &x[i], n)
			}
			for ; bad != 0; bad &= bad - 1 {
				j := i + bits.TrailingZeros64(bad)
				dst[j] = math.Exp(x[j])
			}
		}
		return
	}
	var in [8]float64 // the inputs, for the fallback when dst and x alias
	for i := 0; i < len(x); i += 8 {
		n := min(8, len(x)-i)
		copy(in[:n], x[i:i+n])
		var bad uint64
		if v == 2 {
			bad = expFMA512(&dst[i], &x[i], n)
		} else {
			bad = exp512(&dst[i], &x[i], n)
		}
		for ; bad != 0; bad &= bad - 1 {
			j := bits.TrailingZeros64(bad)
			dst[i+j] = math.Exp(in[j])
		}
	}
}

func expVariantForTest() int { return expVariant }

func features() string {
	x := &cpu.X86
	s := ""
	for _, f := range []struct {
		name string
		ok   bool
	}{{"avx2", x.HasAVX2}, {"fma", x.HasFMA}, {"bmi1", x.HasBMI1}, {"bmi2", x.HasBMI2}, {"popcnt", x.HasPOPCNT},
		{"avx512f", x.HasAVX512F}, {"avx512bw", x.HasAVX512BW}, {"avx512dq", x.HasAVX512DQ}, {"avx512vl", x.HasAVX512VL}} {
		if s != "" {
			s += " "
		}
		if f.ok {
			s += f.name + "+"
		} else {
			s += f.name + "-"
		}
	}
	return s
}

// reluArch runs the vector Relu on a multiple of the vector width and
// returns how many elements it did.
func reluArch(dst, x []float32) int {
	if level < AVX2 {
		return 0
	}
	n := len(x) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			relu512(&dst[0], &x[0], n)
		} else {
			relu256(&dst[0], &x[0], n)
		}
	}
	return n
}

func reluGradArch(dx, y, dy []float32) int {
	if level < AVX2 {
		return 0
	}
	n := len(y) &^ (lanes() - 1)
	if n > 0 {
		if level == AVX512 {
			reluGrad512(&dx[0], &y[0], &dy[0], n)
		} else {
			reluGrad256(&dx[0], &y[0], &dy[0], n)
		}
	}
	return n
}

func expSumArch(p []float32, z []float32, m float32) (float64, bool) {
	if level < AVX2 || expVariant == 0 {
		return 0, false
	}
	var pp *float32
	if p != nil {
		pp = &p[0]
	}
	var s float64
	var bad uint64
	switch {
	case level == AVX512 && expVariant == 2:
		s, bad = expSumFMA512(pp, &z[0], len(z), m)
	case level == AVX512:
		s, bad = expSum512(pp, &z[0], len(z), m)
	case expVariant == 2:
		s, bad = expSumFMA256(pp, &z[0], len(z), m)
	default:
		s, bad = expSum256(pp, &z[0], len(z), m)
	}
	return s, bad == 0
}

func prefetchRowsArch(p unsafe.Pointer, rowBytes int, idx []int) {
	if level >= AVX2 {
		prefetchRows((*byte)(p), rowBytes, &idx[0], len(idx))
	}
}

func scatterBatchArch(g []float32, stride int, idx []int32, val []float32, start []int, dz []float32, u int) bool {
	if level < AVX2 || u > 16 || start[len(start)-1] == 0 {
		return false
	}
	rows := len(start) - 1
	if level == AVX512 {
		scatterBatch512(&g[0], stride, &idx[0], &val[0], &start[0], rows, &dz[0], u)
		return true
	}
	nv := (u + 7) / 8
	// Rows of g padded to whole vectors (Dense's and Conv2D's gpad) are
	// updated whole, without masked stores: if every row has room for nv·8
	// values before the next one and within len(g) (writes stay in g).
	whole := stride >= 8*nv && wholeRows(g[:len(g):len(g)], stride, u, 8*nv)
	switch {
	case nv == 1 && whole:
		scatterBatch256x1whole(&g[0], stride, &idx[0], &val[0], &start[0], rows, &dz[0], u, u)
	case nv == 1:
		scatterBatch256x1(&g[0], stride, &idx[0], &val[0], &start[0], rows, &dz[0], u, u)
	case whole:
		scatterBatch256x2whole(&g[0], stride, &idx[0], &val[0], &start[0], rows, &dz[0], u, u-8)
	default:
		scatterBatch256x2(&g[0], stride, &idx[0], &val[0], &start[0], rows, &dz[0], u, u-8)
	}
	return true
}

func hasAccumColsArch() bool { return level == AVX512 }

func accumColsArch(z, w, x []float32, in, u int, mask []uint64, r0, r1, k0, k1, c0, c1 int) bool {
	if level != AVX512 {
		return false
	}
	kn := k1 - k0
	for wd := r0 / 64; wd*64 < r1; wd++ {
		lo, hi := max(r0, wd*64), min(r1, wd*64+64)
		ms := mask[wd*in+k0 : wd*in+k1]
		// Tiles of 4 rows, aligned in the word, where most inputs are
		// non-zero (see tileDensity); the other rows one by one.
		t0, t1 := min(hi, (lo+3)&^3), hi&^3
		if t1-t0 < 4 || !dense(ms, rowBits(wd, lo, hi), hi-lo) {
			t0, t1 = hi, hi
		}
		byRow := rowBits(wd, lo, t0) | rowBits(wd, t1, hi)
		for jb := c0; jb < c1; jb += tileVec * 16 {
			nv, tail := block(min(tileVec*16, c1-jb), 16)
			for r := t0; r < t1; r += 4 {
				accumTile512(nv, &z[r*u+jb], &w[k0*u+jb], &x[r*in+k0], in, u, &ms[0], r-wd*64, tail, kn)
			}
		}
		if byRow == 0 {
			continue
		}
		for jb := c0; jb < c1; jb += maxVec * 16 {
			nv, tail := block(min(maxVec*16, c1-jb), 16)
			accumCols512(nv, &z[wd*64*u+jb], &w[k0*u+jb], &x[wd*64*in+k0], in, u, &ms[0], byRow, tail, kn)
		}
	}
	return true
}

// tileVec is accumTile512's widest block, in vectors (see _asm).
const tileVec = 4

// tileDensity is the share of non-zero inputs from which accumTile512,
// which computes every row's product and masks the sum, beats
// accumCols512, which loads and stores a row of sums per non-zero input
// (both measured on Zen 5: about 4–5 cycles per input and row against 8
// per non-zero one, for 128 columns).
const tileDensity = 5.0 / 8

// dense reports whether at least tileDensity of the bits sel of the mask
// words ms are set (rows of sel, one word per input).
func dense(ms []uint64, sel uint64, rows int) bool {
	set := 0
	for _, m := range ms {
		set += bits.OnesCount64(m & sel)
	}
	return float64(set) >= tileDensity*float64(rows*len(ms))
}

// sumVec512 and sumVec256 are the widest blocks of the channel-sum kernels,
// in float64 vectors of each sum: 8 ZMM of 8 channels, 4 YMM of 4 (as in
// _asm/channels.go).
const (
	sumVec512 = 8
	sumVec256 = 4
)

// sumBlock is the float64 lanes of a vector of the channel-sum kernels at
// the current level, and the widest block they take, in channels.
func sumBlock() (unit, width int) {
	if level == AVX512 {
		return 8, sumVec512 * 8
	}
	return 4, sumVec256 * 4
}

// sumTile is the number of rows of a tile for the channel-sum kernels when
// the channels take several blocks: each block walks the tile's rows (its
// sums loaded before and stored after), and the next block finds the tile
// in L1. Walking all the rows once per block instead, each pass reading
// part of every row, made NormGradSums about twice as slow (AVX2 at 32 to
// 128 channels, AVX-512 at 128); tiles of 2 KB of each input measured
// best, at least 8 rows to keep the calls' overhead small.
func sumTile(c, width int) int {
	if c <= width {
		return math.MaxInt
	}
	return max(8, sumTileBytes/(4*c))
}

const sumTileBytes = 2 << 10

// sumRowsFrom is the number of channels from which NormGradSums, when they
// take several blocks, keeps its sums in memory (normGradSumsRows) instead
// of tiling: 64 and 128 channels ran 1.3 to 3 times faster so (AVX2 at 64
// and 128, AVX-512 at 128), 32 on AVX2 1.3 times slower. ChannelMoments,
// with less work per row to hide the latency of a sum's store and reload,
// was faster tiled at every width.
const sumRowsFrom = 64

func channelMomentsArch(sum, sq []float64, x []float32) bool {
	if level < AVX2 {
		return false
	}
	c := len(sum)
	rows := len(x) / c
	unit, width := sumBlock()
	tile := sumTile(c, width)
	for r0 := 0; r0 < rows; r0 += tile {
		n, xr := min(tile, rows-r0), x[r0*c:]
		for jb := 0; jb < c; jb += width {
			nv, tail := block(min(width, c-jb), unit)
			if level == AVX512 {
				moments512(nv, &sum[jb], &sq[jb], &xr[jb], c, n, tail)
			} else {
				moments256(nv, &sum[jb], &sq[jb], &xr[jb], c, n, tail)
			}
		}
	}
	return true
}

func normGradSumsArch(sum, sumXhat []float64, x, dy, mean, inv []float32) bool {
	if level < AVX2 {
		return false
	}
	c := len(mean)
	rows := len(x) / c
	unit, width := sumBlock()
	if c > width && c >= sumRowsFrom {
		if level == AVX512 {
			normGradSumsRows512(&sum[0], &sumXhat[0], &x[0], &dy[0], &mean[0], &inv[0], c, rows)
		} else {
			normGradSumsRows256(&sum[0], &sumXhat[0], &x[0], &dy[0], &mean[0], &inv[0], c, rows)
		}
		return true
	}
	tile := sumTile(c, width)
	for r0 := 0; r0 < rows; r0 += tile {
		n, xr, gr := min(tile, rows-r0), x[r0*c:], dy[r0*c:]
		for jb := 0; jb < c; jb += width {
			nv, tail := block(min(width, c-jb), unit)
			if level == AVX512 {
				normGradSums512(nv, &sum[jb], &sumXhat[jb], &xr[jb], &gr[jb], &mean[jb], &inv[jb], c, n, tail)
			} else {
				normGradSums256(nv, &sum[jb], &sumXhat[jb], &xr[jb], &gr[jb], &mean[jb], &inv[jb], c, n, tail)
			}
		}
	}
	return true
}

// The elementwise channel kernels run 16-lane vectors on AVX-512 only when
// c is not an odd multiple of 8 (a masked half vector on every row made
// c = 8 2.5 times slower than 8-lane vectors) and their per-channel
// parameters are 64-byte aligned: they are read on every row, and 64-byte
// loads that straddle cache lines made ChannelAffine 1.6 times slower than
// 8-lane vectors (BatchNormalization.Infer's parameters on the stack).
func wideParams(c int, a, b *float32) bool {
	return level == AVX512 && c%16 != 8 && aligned64(a) && aligned64(b)
}

func aligned64(p *float32) bool { return uintptr(unsafe.Pointer(p))%64 == 0 }

func channelAffineArch(y, x, a, off []float32) bool {
	if level < AVX2 {
		return false
	}
	c := len(a)
	if wideParams(c, &a[0], &off[0]) {
		channelAffine512(&y[0], &x[0], &a[0], &off[0], c, len(x)/c)
	} else {
		channelAffine256(&y[0], &x[0], &a[0], &off[0], c, len(x)/c)
	}
	return true
}

func normGradArch(dx, x, dy, a, q, r, mean, inv []float32) bool {
	if level < AVX2 {
		return false
	}
	c := len(mean)
	if wideParams(c, &a[0], &q[0]) && aligned64(&r[0]) && aligned64(&mean[0]) && aligned64(&inv[0]) {
		normGrad512(&dx[0], &x[0], &dy[0], &a[0], &q[0], &r[0], &mean[0], &inv[0], c, len(x)/c)
	} else {
		normGrad256(&dx[0], &x[0], &dy[0], &a[0], &q[0], &r[0], &mean[0], &inv[0], c, len(x)/c)
	}
	return true
}

func moments512(nv int, sum, sq *float64, x *float32, c, rows, tail int) {
	switch nv {
	case 1:
		moments512x1(sum, sq, x, c, rows, tail)
	case 2:
		moments512x2(sum, sq, x, c, rows, tail)
	case 3:
		moments512x3(sum, sq, x, c, rows, tail)
	case 4:
		moments512x4(sum, sq, x, c, rows, tail)
	case 5:
		moments512x5(sum, sq, x, c, rows, tail)
	case 6:
		moments512x6(sum, sq, x, c, rows, tail)
	case 7:
		moments512x7(sum, sq, x, c, rows, tail)
	case 8:
		moments512x8(sum, sq, x, c, rows, tail)
	}
}

func moments256(nv int, sum, sq *float64, x *float32, c, rows, tail int) {
	switch nv {
	case 1:
		moments256x1(sum, sq, x, c, rows, tail)
	case 2:
		moments256x2(sum, sq, x, c, rows, tail)
	case 3:
		moments256x3(sum, sq, x, c, rows, tail)
	case 4:
		moments256x4(sum, sq, x, c, rows, tail)
	}
}

func normGradSums512(nv int, sum, sumXhat *float64, x, dy, mean, inv *float32, c, rows, tail int) {
	switch nv {
	case 1:
		normGradSums512x1(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 2:
		normGradSums512x2(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 3:
		normGradSums512x3(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 4:
		normGradSums512x4(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 5:
		normGradSums512x5(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 6:
		normGradSums512x6(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 7:
		normGradSums512x7(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 8:
		normGradSums512x8(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	}
}

func normGradSums256(nv int, sum, sumXhat *float64, x, dy, mean, inv *float32, c, rows, tail int) {
	switch nv {
	case 1:
		normGradSums256x1(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 2:
		normGradSums256x2(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 3:
		normGradSums256x3(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	case 4:
		normGradSums256x4(sum, sumXhat, x, dy, mean, inv, c, rows, tail)
	}
}
