package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The channel kernels (BatchNormalization's loops) walk a batch of rows of
// c channels. The per-channel float64 sums (ChannelMoments, NormGradSums)
// vectorise across channels: a block of nv float64 vectors of each sum
// stays in registers (8 channels a ZMM, 4 a YMM) while the rows are added
// in order, so every sum takes its terms in the reference's order; wider
// rows take several blocks (the Go side walks the rows in tiles), or, for
// NormGradSums, a kernel that keeps the sums in memory. The float32
// kernels (ChannelAffine, NormGrad) are elementwise, with the per-channel
// parameters read from memory (they stay in L1).

// The widest block of the sum kernels, in float64 vectors of each of the
// two sums: 2×8 ZMM (64 channels) or 2×4 YMM (16 channels) accumulators.
const (
	sumVec512 = 8
	sumVec256 = 4
)

func channelKernels() {
	for nv := 1; nv <= sumVec512; nv++ {
		moments512(nv)
	}
	for nv := 1; nv <= sumVec256; nv++ {
		moments256(nv)
	}
	for nv := 1; nv <= sumVec512; nv++ {
		normGradSums512(nv)
	}
	for nv := 1; nv <= sumVec256; nv++ {
		normGradSums256(nv)
	}
	normGradSumsRows(true)
	normGradSumsRows(false)
	channelAffine(true)
	channelAffine(false)
	normGrad(true)
	normGrad(false)
}

// loadTailMask128 loads an AVX lane mask of the first tail (0..4) float32
// lanes of an XMM.
func loadTailMask128(tail Register) VecVirtual {
	m := XMM()
	t := GP64()
	MOVQ(U32(8), t)
	SUBQ(tail, t)
	p := GP64()
	LEAQ(tailMask, p)
	VMOVDQU(Mem{Base: p, Index: t, Scale: 4}, m)
	return m
}

// sumBlockDoc documents a block kernel of the float64 channel sums.
func sumBlockDoc(name, what string, nv, lanes int, body ...string) {
	lines := []string{
		fmt.Sprintf("%s is %s for one block of up to %d channels: %d float64", name, what, nv*lanes, nv),
		"vectors of each sum, the last one masked to its first tail lanes. The",
		"pointers are at the block's first channel; the rows (rows ≥ 1) are c",
		"channels apart.",
		"",
		"\tfor i := 0; i < rows; i++ {",
		"\t\tfor k := range block {",
	}
	for _, l := range body {
		lines = append(lines, "\t\t\t"+l)
	}
	Doc(append(lines, "\t\t}", "\t}")...)
}

// sumLoop emits the row loop of a channel-sum kernel twice: with the last
// vector masked (tail < unit) and without (a masked memory operand is
// slower, even with every lane set). step emits one row, next advances the
// row pointers.
func sumLoop(rows, tail Register, unit int, step func(masked bool), next func()) {
	CMPQ(tail, U8(unit))
	JEQ(LabelRef("whole"))
	for _, masked := range []bool{true, false} {
		l := "whole"
		if masked {
			l = "masked"
		}
		Label(l)
		step(masked)
		next()
		DECQ(rows)
		JNZ(LabelRef(l))
		if masked {
			JMP(LabelRef("store"))
		}
	}
	Label("store")
}

func momentsDoc(name string, nv, lanes int) {
	sumBlockDoc(name, "ChannelMoments", nv, lanes,
		"f := float64(x[i*c+k])",
		"sum[k] += f",
		"sq[k] += f * f")
}

const momentsSig = "func(sum *float64, sq *float64, x *float32, c int, rows int, tail int)"

// moments512 keeps 2·nv ZMM sums; VCVTPS2PD converts 8 channels exactly.
func moments512(nv int) {
	name := fmt.Sprintf("moments512x%d", nv)
	TEXT(name, NOSPLIT, momentsSig)
	Pragma("noescape")
	momentsDoc(name, nv, 8)
	sp, qp, xp := loadGP("sum"), loadGP("sq"), loadGP("x")
	c4 := loadGP("c")
	SHLQ(U8(2), c4)
	rows := loadGP("rows")
	tail := loadGP("tail")
	kt := K()
	laneMask(tail, kt)
	s, q := loadSums512(nv, kt, sp, qp)
	sumLoop(rows, tail, 8, func(masked bool) {
		for v := range nv {
			f := ZMM()
			if masked && v == nv-1 {
				VCVTPS2PD_Z(Mem{Base: xp, Disp: 32 * v}, kt, f)
			} else {
				VCVTPS2PD(Mem{Base: xp, Disp: 32 * v}, f)
			}
			VADDPD(f, s[v], s[v]) // sum + f
			VMULPD(f, f, f)       // f·f, exact
			VADDPD(f, q[v], q[v]) // sq + f·f
		}
	}, func() { ADDQ(c4, xp) })
	storeSums512(s, q, kt, sp, qp)
	VZEROUPPER()
	RET()
}

// fuseMoments256 and fuseGradSums256 are the smallest blocks (in vectors)
// from which the AVX2 sum kernels add the float64 product (f·f, g·x̂) with
// VFMADD231PD instead of VMULPD and VADDPD. The product of two float32
// values is exact in float64, so the fused and the separate forms round
// once, identically (and a NaN stays a NaN).
// AVX2 is bound by the conversions and adds, which share two of the four
// FP pipes, and the FMA moves the product's add to the multiply pipes:
// ChannelMoments at c = 16 took 0.73, NormGradSums 0.85 of the time. But
// the FMA's latency (4 cycles against VADDPD's 2 on the Zen 5 measured)
// lengthens each sum's chain, which bounds narrow blocks: fused, c = 8
// (2 vectors) took 1.6 times as long in ChannelMoments, whose rows are
// the least work. normGradSumsRows256, whose sums go through memory, stays
// unfused: the FMA's latency made c = 64 1.15 times slower.
const (
	fuseMoments256  = 3
	fuseGradSums256 = 2
)

// moments256 keeps 2·nv YMM sums of 4 channels each.
func moments256(nv int) {
	name := fmt.Sprintf("moments256x%d", nv)
	TEXT(name, NOSPLIT, momentsSig)
	Pragma("noescape")
	momentsDoc(name, nv, 4)
	sp, qp, xp := loadGP("sum"), loadGP("sq"), loadGP("x")
	c4 := loadGP("c")
	SHLQ(U8(2), c4)
	rows := loadGP("rows")
	tail := loadGP("tail")
	xm := loadTailMask128(tail) // float32 lanes
	dm := YMM()                 // the same lanes as float64
	VPMOVSXDQ(xm, dm)
	s, q := loadSums256(nv, dm, sp, qp)
	sumLoop(rows, tail, 4, func(masked bool) {
		for v := range nv {
			f := YMM()
			if masked && v == nv-1 {
				t := XMM()
				VMASKMOVPS(Mem{Base: xp, Disp: 16 * v}, xm, t)
				VCVTPS2PD(t, f)
			} else {
				VCVTPS2PD(Mem{Base: xp, Disp: 16 * v}, f)
			}
			VADDPD(f, s[v], s[v])
			if nv >= fuseMoments256 {
				VFMADD231PD(f, f, q[v]) // sq + f·f in one rounding, as unfused: f·f is exact
			} else {
				VMULPD(f, f, f)
				VADDPD(f, q[v], q[v])
			}
		}
	}, func() { ADDQ(c4, xp) })
	dm = YMM()
	VPMOVSXDQ(xm, dm)
	storeSums256(s, q, dm, sp, qp)
	VZEROUPPER()
	RET()
}

func normGradSumsDoc(name string, nv, lanes int) {
	sumBlockDoc(name, "NormGradSums", nv, lanes,
		"xh := (x[i*c+k] - mean[k]) * inv[k]",
		"g := float64(dy[i*c+k])",
		"sum[k] += g",
		"sumXhat[k] += g * float64(xh)")
}

const normGradSumsSig = "func(sum *float64, sumXhat *float64, x *float32, dy *float32, mean *float32, inv *float32, c int, rows int, tail int)"

// normGradSums512 computes x̂ in float32 (YMM, 8 channels), converts it and
// dy exactly to float64 (ZMM) and adds them to 2·nv ZMM sums.
func normGradSums512(nv int) {
	name := fmt.Sprintf("normGradSums512x%d", nv)
	TEXT(name, NOSPLIT, normGradSumsSig)
	Pragma("noescape")
	normGradSumsDoc(name, nv, 8)
	sp, hp := loadGP("sum"), loadGP("sumXhat")
	xp, gp := loadGP("x"), loadGP("dy")
	mp, ip := loadGP("mean"), loadGP("inv")
	c4 := loadGP("c")
	SHLQ(U8(2), c4)
	rows := loadGP("rows")
	tail := loadGP("tail")
	kt := K()
	laneMask(tail, kt)
	s, h := loadSums512(nv, kt, sp, hp)
	sumLoop(rows, tail, 8, func(masked bool) {
		for v := range nv {
			at := func(p Register) Mem { return Mem{Base: p, Disp: 32 * v} }
			xv, g, xh := YMM(), ZMM(), ZMM()
			if masked && v == nv-1 {
				VMOVUPS_Z(at(xp), kt, xv)
				VSUBPS_Z(at(mp), xv, kt, xv) // x − mean
				VMULPS_Z(at(ip), xv, kt, xv) // ·inv
				VCVTPS2PD_Z(at(gp), kt, g)
			} else {
				VMOVUPS(at(xp), xv)
				VSUBPS(at(mp), xv, xv)
				VMULPS(at(ip), xv, xv)
				VCVTPS2PD(at(gp), g)
			}
			VCVTPS2PD(xv, xh)
			VADDPD(g, s[v], s[v]) // sum + g
			VMULPD(xh, g, xh)     // g·x̂, exact
			VADDPD(xh, h[v], h[v])
		}
	}, func() {
		ADDQ(c4, xp)
		ADDQ(c4, gp)
	})
	storeSums512(s, h, kt, sp, hp)
	VZEROUPPER()
	RET()
}

// normGradSums256 is normGradSums512 with XMM x̂ and YMM sums (4 channels);
// the last vector's mean and inv are loaded once, masked.
func normGradSums256(nv int) {
	name := fmt.Sprintf("normGradSums256x%d", nv)
	TEXT(name, NOSPLIT, normGradSumsSig)
	Pragma("noescape")
	normGradSumsDoc(name, nv, 4)
	sp, hp := loadGP("sum"), loadGP("sumXhat")
	xp, gp := loadGP("x"), loadGP("dy")
	mp, ip := loadGP("mean"), loadGP("inv")
	c4 := loadGP("c")
	SHLQ(U8(2), c4)
	rows := loadGP("rows")
	tail := loadGP("tail")
	xm := loadTailMask128(tail)
	dm := YMM()
	VPMOVSXDQ(xm, dm)
	last := 16 * (nv - 1)
	tmean, tinv := XMM(), XMM()
	VMASKMOVPS(Mem{Base: mp, Disp: last}, xm, tmean)
	VMASKMOVPS(Mem{Base: ip, Disp: last}, xm, tinv)
	s, h := loadSums256(nv, dm, sp, hp)
	sumLoop(rows, tail, 4, func(masked bool) {
		for v := range nv {
			at := func(p Register) Mem { return Mem{Base: p, Disp: 16 * v} }
			xv, g, xh := XMM(), YMM(), YMM()
			if masked && v == nv-1 {
				t := XMM()
				VMASKMOVPS(at(xp), xm, xv)
				VSUBPS(tmean, xv, xv)
				VMULPS(tinv, xv, xv)
				VMASKMOVPS(at(gp), xm, t)
				VCVTPS2PD(t, g)
			} else {
				VMOVUPS(at(xp), xv)
				VSUBPS(at(mp), xv, xv)
				VMULPS(at(ip), xv, xv)
				VCVTPS2PD(at(gp), g)
			}
			VCVTPS2PD(xv, xh)
			VADDPD(g, s[v], s[v])
			if nv >= fuseGradSums256 {
				VFMADD231PD(xh, g, h[v]) // sumXhat + g·x̂ in one rounding, as unfused: g·x̂ is exact
			} else {
				VMULPD(xh, g, xh)
				VADDPD(xh, h[v], h[v])
			}
		}
	}, func() {
		ADDQ(c4, xp)
		ADDQ(c4, gp)
	})
	dm = YMM()
	VPMOVSXDQ(xm, dm)
	storeSums256(s, h, dm, sp, hp)
	VZEROUPPER()
	RET()
}

// rowsLoop emits the loop of the elementwise channel kernels: for each of
// rows ≥ 1 rows, body(j) for every whole vector of the row (j its offset
// in elements, below whole), then tailBody(whole) if rest (c%lanes) is not
// 0; next advances the row pointers.
func rowsLoop(whole, rest, rows Register, lanes int, body, tailBody func(j Register), next func()) {
	j := GP64()
	Label("row")
	XORQ(j, j)
	Label("vec")
	CMPQ(j, whole)
	JGE(LabelRef("tail"))
	body(j)
	ADDQ(U32(lanes), j)
	JMP(LabelRef("vec"))
	Label("tail")
	TESTQ(rest, rest)
	JZ(LabelRef("next"))
	tailBody(whole)
	Label("next")
	next()
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// splitRow loads c and returns c4 (a row in bytes), whole (c rounded down
// to a multiple of lanes) and rest (c%lanes).
func splitRow(lanes int) (c4, whole, rest GPVirtual) {
	c4, whole, rest = loadGP("c"), GP64(), GP64()
	MOVQ(c4, whole)
	ANDQ(I32(-lanes), whole)
	MOVQ(c4, rest)
	ANDQ(U32(lanes-1), rest)
	SHLQ(U8(2), c4)
	return c4, whole, rest
}

// channelAffine is ChannelAffine on AVX-512 (wide) or AVX2.
func channelAffine(wide bool) {
	name, lanes, vec := "channelAffine256", 8, YMM
	if wide {
		name, lanes, vec = "channelAffine512", 16, ZMM
	}
	TEXT(name, NOSPLIT, "func(y *float32, x *float32, a *float32, off *float32, c int, rows int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is ChannelAffine for rows ≥ 1 rows of c channels, %d at a time", name, lanes),
		fmt.Sprintf("and the last c%%%d masked:", lanes),
		"",
		"\tfor i := 0; i < rows*c; i += c {",
		"\t\tfor k := 0; k < c; k++ {",
		"\t\t\ty[i+k] = float32(x[i+k]*a[k]) + off[k]",
		"\t\t}",
		"\t}")
	yp, xp := loadGP("y"), loadGP("x")
	ap, op := loadGP("a"), loadGP("off")
	rows := loadGP("rows")
	c4, whole, rest := splitRow(lanes)
	at := func(p, j Register) Mem { return Mem{Base: p, Index: j, Scale: 4} }
	body := func(j Register) {
		v := vec()
		VMOVUPS(at(xp, j), v)
		VMULPS(at(ap, j), v, v) // x·a
		VADDPS(at(op, j), v, v) // + off
		VMOVUPS(v, at(yp, j))
	}
	next := func() {
		ADDQ(c4, xp)
		ADDQ(c4, yp)
	}
	if wide {
		kt := K()
		laneMask(rest, kt)
		rowsLoop(whole, rest, rows, lanes, body, func(j Register) {
			v := ZMM()
			VMOVUPS_Z(at(xp, j), kt, v)
			VMULPS_Z(at(ap, j), v, kt, v)
			VADDPS_Z(at(op, j), v, kt, v)
			VMOVUPS(v, kt, at(yp, j))
		}, next)
		return
	}
	// The last vector's mask and parameters, loaded once (a zero mask
	// loads nothing).
	mt := loadTailMask256(rest)
	ta, toff := YMM(), YMM()
	VMASKMOVPS(at(ap, whole), mt, ta)
	VMASKMOVPS(at(op, whole), mt, toff)
	rowsLoop(whole, rest, rows, lanes, body, func(j Register) {
		v := YMM()
		VMASKMOVPS(at(xp, j), mt, v)
		VMULPS(ta, v, v)
		VADDPS(toff, v, v)
		VMASKMOVPS(v, mt, at(yp, j))
	}, next)
}

// normGrad is NormGrad on AVX-512 (wide) or AVX2.
func normGrad(wide bool) {
	name, lanes, vec := "normGrad256", 8, YMM
	if wide {
		name, lanes, vec = "normGrad512", 16, ZMM
	}
	TEXT(name, NOSPLIT, "func(dx *float32, x *float32, dy *float32, a *float32, q *float32, r *float32, mean *float32, inv *float32, c int, rows int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is NormGrad for rows ≥ 1 rows of c channels, %d at a time", name, lanes),
		fmt.Sprintf("and the last c%%%d masked:", lanes),
		"",
		"\tfor i := 0; i < rows*c; i += c {",
		"\t\tfor k := 0; k < c; k++ {",
		"\t\t\txh := (x[i+k] - mean[k]) * inv[k]",
		"\t\t\tdx[i+k] = float32(a[k]*dy[i+k]) + q[k] - float32(r[k]*xh)",
		"\t\t}",
		"\t}")
	// The masks first: 13 general registers are live in the loop.
	c4, whole, rest := splitRow(lanes)
	var kt, mt Register
	if wide {
		kt = K()
		laneMask(rest, kt)
	} else {
		mt = loadTailMask256(rest)
	}
	dp, xp, gp := loadGP("dx"), loadGP("x"), loadGP("dy")
	ap, qp, rp := loadGP("a"), loadGP("q"), loadGP("r")
	mp, ip := loadGP("mean"), loadGP("inv")
	rows := loadGP("rows")
	at := func(p, j Register) Mem { return Mem{Base: p, Index: j, Scale: 4} }
	body := func(j Register) {
		v, g := vec(), vec()
		VMOVUPS(at(xp, j), v)
		VSUBPS(at(mp, j), v, v) // x − mean
		VMULPS(at(ip, j), v, v) // x̂ = (x − mean)·inv
		VMULPS(at(rp, j), v, v) // r·x̂
		VMOVUPS(at(gp, j), g)
		VMULPS(at(ap, j), g, g) // a·dy
		VADDPS(at(qp, j), g, g) // + q
		VSUBPS(v, g, g)         // − r·x̂
		VMOVUPS(g, at(dp, j))
	}
	next := func() {
		ADDQ(c4, xp)
		ADDQ(c4, gp)
		ADDQ(c4, dp)
	}
	if wide {
		rowsLoop(whole, rest, rows, lanes, body, func(j Register) {
			v, g := ZMM(), ZMM()
			VMOVUPS_Z(at(xp, j), kt, v)
			VSUBPS_Z(at(mp, j), v, kt, v)
			VMULPS_Z(at(ip, j), v, kt, v)
			VMULPS_Z(at(rp, j), v, kt, v)
			VMOVUPS_Z(at(gp, j), kt, g)
			VMULPS_Z(at(ap, j), g, kt, g)
			VADDPS_Z(at(qp, j), g, kt, g)
			VSUBPS(v, g, g)
			VMOVUPS(g, kt, at(dp, j))
		}, next)
		return
	}
	ta, tq, tr, tm, ti := YMM(), YMM(), YMM(), YMM(), YMM()
	VMASKMOVPS(at(ap, whole), mt, ta)
	VMASKMOVPS(at(qp, whole), mt, tq)
	VMASKMOVPS(at(rp, whole), mt, tr)
	VMASKMOVPS(at(mp, whole), mt, tm)
	VMASKMOVPS(at(ip, whole), mt, ti)
	rowsLoop(whole, rest, rows, lanes, body, func(j Register) {
		v, g := YMM(), YMM()
		VMASKMOVPS(at(xp, j), mt, v)
		VSUBPS(tm, v, v)
		VMULPS(ti, v, v)
		VMULPS(tr, v, v)
		VMASKMOVPS(at(gp, j), mt, g)
		VMULPS(ta, g, g)
		VADDPS(tq, g, g)
		VSUBPS(v, g, g)
		VMASKMOVPS(g, mt, at(dp, j))
	}, next)
}

// normGradSumsRows is NormGradSums for any number of channels, with the
// sums in memory (they stay in L1): each row is read in one go, so the
// batch is one stream, which suits channels too many for the registers.
func normGradSumsRows(wide bool) {
	name, unit := "normGradSumsRows256", 4
	if wide {
		name, unit = "normGradSumsRows512", 8
	}
	TEXT(name, NOSPLIT, "func(sum *float64, sumXhat *float64, x *float32, dy *float32, mean *float32, inv *float32, c int, rows int)")
	Pragma("noescape")
	Doc(name+" is NormGradSums for rows ≥ 1 rows of c channels, with the sums",
		fmt.Sprintf("in memory, %d channels at a time and the last c%%%d masked.", unit, unit))
	c4, whole, rest := splitRow(unit)
	var kt, xm, dm Register
	if wide {
		kt = K()
		laneMask(rest, kt)
	} else {
		xm = loadTailMask128(rest)
		dm = YMM()
		VPMOVSXDQ(xm, dm)
	}
	sp, hp := loadGP("sum"), loadGP("sumXhat")
	xp, gp := loadGP("x"), loadGP("dy")
	mp, ip := loadGP("mean"), loadGP("inv")
	rows := loadGP("rows")
	vec, half := YMM, XMM
	if wide {
		vec, half = ZMM, YMM
	}
	f32 := func(p, j Register) Mem { return Mem{Base: p, Index: j, Scale: 4} }
	f64 := func(p, j Register) Mem { return Mem{Base: p, Index: j, Scale: 8} }
	step := func(j Register, masked bool) {
		xv, g, xh, s, h := half(), vec(), vec(), vec(), vec()
		switch {
		case masked && wide:
			VMOVUPS_Z(f32(xp, j), kt, xv)
			VSUBPS_Z(f32(mp, j), xv, kt, xv)
			VMULPS_Z(f32(ip, j), xv, kt, xv)
			VCVTPS2PD_Z(f32(gp, j), kt, g)
			VMOVUPD_Z(f64(sp, j), kt, s)
			VMOVUPD_Z(f64(hp, j), kt, h)
		case masked:
			t := XMM()
			VMASKMOVPS(f32(xp, j), xm, xv)
			VMASKMOVPS(f32(mp, j), xm, t)
			VSUBPS(t, xv, xv)
			VMASKMOVPS(f32(ip, j), xm, t)
			VMULPS(t, xv, xv)
			VMASKMOVPS(f32(gp, j), xm, t)
			VCVTPS2PD(t, g)
			VMASKMOVPD(f64(sp, j), dm, s)
			VMASKMOVPD(f64(hp, j), dm, h)
		default:
			VMOVUPS(f32(xp, j), xv)
			VSUBPS(f32(mp, j), xv, xv)
			VMULPS(f32(ip, j), xv, xv)
			VCVTPS2PD(f32(gp, j), g)
			VMOVUPD(f64(sp, j), s)
			VMOVUPD(f64(hp, j), h)
		}
		VCVTPS2PD(xv, xh)
		VADDPD(g, s, s)
		VMULPD(xh, g, xh)
		VADDPD(xh, h, h)
		switch {
		case masked && wide:
			VMOVUPD(s, kt, f64(sp, j))
			VMOVUPD(h, kt, f64(hp, j))
		case masked:
			VMASKMOVPD(s, dm, f64(sp, j))
			VMASKMOVPD(h, dm, f64(hp, j))
		default:
			VMOVUPD(s, f64(sp, j))
			VMOVUPD(h, f64(hp, j))
		}
	}
	rowsLoop(whole, rest, rows, unit, func(j Register) { step(j, false) }, func(j Register) { step(j, true) },
		func() {
			ADDQ(c4, xp)
			ADDQ(c4, gp)
		})
}

// loadSums512 loads the nv float64 vectors at a and at b (64 bytes each,
// the last masked by kt) into new ZMM registers: a kernel's running sums.
func loadSums512(nv int, kt Op, a, b Register) (sa, sb []VecVirtual) {
	sa, sb = make([]VecVirtual, nv), make([]VecVirtual, nv)
	for v := range nv {
		sa[v], sb[v] = ZMM(), ZMM()
		if v == nv-1 {
			VMOVUPD_Z(Mem{Base: a, Disp: 64 * v}, kt, sa[v])
			VMOVUPD_Z(Mem{Base: b, Disp: 64 * v}, kt, sb[v])
		} else {
			VMOVUPD(Mem{Base: a, Disp: 64 * v}, sa[v])
			VMOVUPD(Mem{Base: b, Disp: 64 * v}, sb[v])
		}
	}
	return sa, sb
}

// storeSums512 writes back what loadSums512 loaded.
func storeSums512(sa, sb []VecVirtual, kt Op, a, b Register) {
	nv := len(sa)
	for v := range nv {
		if v == nv-1 {
			VMOVUPD(sa[v], kt, Mem{Base: a, Disp: 64 * v})
			VMOVUPD(sb[v], kt, Mem{Base: b, Disp: 64 * v})
		} else {
			VMOVUPD(sa[v], Mem{Base: a, Disp: 64 * v})
			VMOVUPD(sb[v], Mem{Base: b, Disp: 64 * v})
		}
	}
}

// loadSums256 is loadSums512 with YMM registers (32 bytes each), the last
// masked by the float64 lane mask dm.
func loadSums256(nv int, dm Op, a, b Register) (sa, sb []VecVirtual) {
	sa, sb = make([]VecVirtual, nv), make([]VecVirtual, nv)
	for v := range nv {
		sa[v], sb[v] = YMM(), YMM()
		if v == nv-1 {
			VMASKMOVPD(Mem{Base: a, Disp: 32 * v}, dm, sa[v])
			VMASKMOVPD(Mem{Base: b, Disp: 32 * v}, dm, sb[v])
		} else {
			VMOVUPD(Mem{Base: a, Disp: 32 * v}, sa[v])
			VMOVUPD(Mem{Base: b, Disp: 32 * v}, sb[v])
		}
	}
	return sa, sb
}

// storeSums256 writes back what loadSums256 loaded.
func storeSums256(sa, sb []VecVirtual, dm Op, a, b Register) {
	nv := len(sa)
	for v := range nv {
		if v == nv-1 {
			VMASKMOVPD(sa[v], dm, Mem{Base: a, Disp: 32 * v})
			VMASKMOVPD(sb[v], dm, Mem{Base: b, Disp: 32 * v})
		} else {
			VMOVUPD(sa[v], Mem{Base: a, Disp: 32 * v})
			VMOVUPD(sb[v], Mem{Base: b, Disp: 32 * v})
		}
	}
}
