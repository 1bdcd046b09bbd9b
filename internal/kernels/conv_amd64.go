//go:build !purego

package kernels

// fptr returns &s[i], or nil for a nil slice.
func fptr(s []float32, i int) *float32 {
	if s == nil {
		return nil
	}
	return &s[i]
}

// bptr returns &s[i], or nil for a nil slice.
func bptr(s []uint8, i int) *uint8 {
	if s == nil {
		return nil
	}
	return &s[i]
}

// convForwardArch runs ConvForward in blocks of up to two vectors of
// filters (32 at AVX-512, 16 at AVX2).
func convForwardArch(z, y []float32, mask []uint8, x []float32, pix, koff []int32, w []float32, f int, bias []float32) bool {
	if level < AVX2 {
		return false
	}
	mode := 0
	if z != nil {
		mode |= 1
	}
	if y != nil {
		mode |= 2
	}
	if bias != nil {
		mode |= 4
	}
	if mask != nil {
		mode |= 8
	}
	ms := MaskStride(f)
	l := lanes()
	n, k := len(pix), len(koff)
	for jb := 0; jb < f; jb += 2 * l {
		nv, tail := block(min(2*l, f-jb), l)
		zp, yp, bp, mp := fptr(z, jb), fptr(y, jb), fptr(bias, jb), bptr(mask, jb/8)
		full := tail == l
		switch {
		case level == AVX512 && nv == 1 && full:
			convFwd512x1full(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		case level == AVX512 && nv == 1:
			convFwd512x1(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		case level == AVX512 && full:
			convFwd512x2full(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		case level == AVX512:
			convFwd512x2(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		case nv == 1 && full:
			convFwd256x1full(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		case nv == 1:
			convFwd256x1(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		case full:
			convFwd256x2full(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		default:
			convFwd256x2(zp, yp, mp, ms, &x[0], &pix[0], n, &koff[0], k, &w[jb], f, bp, tail, mode)
		}
	}
	return true
}

// gradPlan chooses the filter block width (nv vectors) and the number of
// kernel rows per pass so that the passes over the pixels are fewest: each
// pass keeps kb×nv gradient vectors in registers.
func gradPlan(f, k, l int, kbMax [3]int) (nv, kb int) {
	best := -1
	for v := 2; v >= 1; v-- {
		fb := (f + v*l - 1) / (v * l)
		kblocks := (k + kbMax[v] - 1) / kbMax[v]
		if p := fb * kblocks; best < 0 || p < best {
			best, nv = p, v
			kb = (k + kblocks - 1) / kblocks // balanced blocks
		}
	}
	return nv, kb
}

// convGradArch runs ConvGrad in passes over the pixels, one per block of
// filters and block of kernel rows.
func convGradArch(g, gb, x []float32, pix, koff []int32, dz []float32, mask []uint8, f int) bool {
	if level < AVX2 {
		return false
	}
	l := lanes()
	kbMax := convGradKB256
	if level == AVX512 {
		kbMax = convGradKB512
	}
	n, k := len(pix), len(koff)
	ms := MaskStride(f)
	nv, kbs := gradPlan(f, k, l, kbMax)
	for jb := 0; jb < f; jb += nv * l {
		v, tail := block(min(nv*l, f-jb), l)
		mp := bptr(mask, jb/8)
		for k0 := 0; k0 < k; k0 += kbs {
			kb := min(kbs, k-k0)
			var gbp *float32
			if k0 == 0 {
				gbp = fptr(gb, jb)
			}
			if level == AVX512 {
				convGrad512(v, kb, tail == l, &g[k0*f+jb], gbp, &x[0], &pix[0], n, &koff[k0], &dz[jb], mp, ms, f, tail)
			} else {
				convGrad256(v, kb, tail == l, &g[k0*f+jb], gbp, &x[0], &pix[0], n, &koff[k0], &dz[jb], mp, ms, f, tail)
			}
		}
	}
	return true
}

// poolTab returns the pooling kernels' table of candidate indices, one
// vector of l lanes per cell t: cells[t] + i at [t*l+i]. buf holds it when
// it fits (on the caller's stack: the kernels keep no shared state).
func poolTab(buf []int32, cells []int32, l int) []int32 {
	tab := buf
	if len(cells)*l > len(buf) {
		tab = make([]int32, len(cells)*l)
	}
	for t, o := range cells {
		for i := range l {
			tab[t*l+i] = o + int32(i)
		}
	}
	return tab
}

// poolTabLen is the table size the pooling wrappers keep on the stack: 16
// cells (a 4×4 window) at AVX-512.
const poolTabLen = 16 * 16

func maxPoolArch(y []float32, arg []int32, x []float32, pix, out, cells []int32, c int) bool {
	if level < AVX2 {
		return false
	}
	var ap *int32
	if arg != nil {
		ap = &arg[0]
	}
	var buf [poolTabLen]int32
	tab := poolTab(buf[:], cells, lanes())
	switch nc := len(cells); {
	case level == AVX512 && nc == 4:
		maxPool512n4(&y[0], ap, &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case level == AVX512 && nc == 9:
		maxPool512n9(&y[0], ap, &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case level == AVX512:
		maxPool512(&y[0], ap, &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case nc == 4:
		maxPool256n4(&y[0], ap, &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case nc == 9:
		maxPool256n9(&y[0], ap, &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	default:
		maxPool256(&y[0], ap, &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	}
	return true
}

// maxPool8Vector reports whether the byte pooling kernels apply: windows
// of 4 or 9 cells (the unrolled ones), whole vectors of channels.
func maxPool8Vector(nc, c int) bool {
	return level >= AVX2 && (nc == 4 || nc == 9) && c%lanes() == 0
}

// tTab is poolTab for the byte kernels: t in every lane of row t.
func tTab(buf []int32, nc, l int) []int32 {
	tab := buf[:nc*l]
	for t := range nc {
		for i := range l {
			tab[t*l+i] = int32(t)
		}
	}
	return tab
}

func maxPool8Arch(y []float32, arg []uint8, x []float32, pix, out, cells []int32, c int) bool {
	nc := len(cells)
	if !maxPool8Vector(nc, c) {
		return false
	}
	var buf [poolTabLen]int32
	tab := tTab(buf[:], nc, lanes())
	switch {
	case level == AVX512 && nc == 4:
		maxPool8512n4(&y[0], &arg[0], &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case level == AVX512:
		maxPool8512n9(&y[0], &arg[0], &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case nc == 4:
		maxPool8256n4(&y[0], &arg[0], &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	default:
		maxPool8256n9(&y[0], &arg[0], &x[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	}
	return true
}

func maxPoolGrad8Arch(dx, dy []float32, arg []uint8, pix, out, cells []int32, c int) bool {
	nc := len(cells)
	if !maxPool8Vector(nc, c) {
		return false
	}
	var buf [poolTabLen]int32
	tab := tTab(buf[:], nc, lanes())
	switch {
	case level == AVX512 && nc == 4:
		maxPoolGrad8512n4(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case level == AVX512:
		maxPoolGrad8512n9(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case nc == 4:
		maxPoolGrad8256n4(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	default:
		maxPoolGrad8256n9(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	}
	return true
}

func maxPoolGradArch(dx, dy []float32, arg []int32, pix, out, cells []int32, c int) bool {
	if level < AVX2 {
		return false
	}
	var buf [poolTabLen]int32
	tab := poolTab(buf[:], cells, lanes())
	switch nc := len(cells); {
	case level == AVX512 && nc == 4:
		maxPoolGrad512n4(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case level == AVX512 && nc == 9:
		maxPoolGrad512n9(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case level == AVX512:
		maxPoolGrad512(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case nc == 4:
		maxPoolGrad256n4(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	case nc == 9:
		maxPoolGrad256n9(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	default:
		maxPoolGrad256(&dx[0], &dy[0], &arg[0], &pix[0], &out[0], len(pix), &cells[0], nc, c, &tab[0])
	}
	return true
}
