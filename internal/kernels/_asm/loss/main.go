// Command loss generates kiln's amd64 loss kernels (../../loss_amd64.s and
// ../../loss_stubs_amd64.go) with avo: the row maxima of a batch of logits
// with the shifted values in float64, and Go's amd64 math.Log on vectors.
// Run it through go generate in internal/kernels:
//
//	go generate ./internal/kernels
//
// Like ../gen.go, every kernel performs the operations of the Go code it
// replaces in the same order, lane by lane, each rounded separately (never
// an FMA), so results are bit-identical to it.
package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var (
	// lossMasks32 is 16 int32 −1 then 16 zeros: loaded at (16−c)·4, the
	// masks of the first c of 16 float32 lanes.
	lossMasks32 Mem
	// lossMasks64 is the same for 16 float64 lanes (int64 −1, then zeros).
	lossMasks64 Mem
	// logData holds the constants of math.Log (log_amd64.s).
	logData Mem
	// negInf is float32 −Inf.
	negInf Mem
)

// logConsts are log_amd64.s's constants, by their bits.
var logConsts = []struct {
	name string
	bits uint64
}{
	{"hsqrt2", math.Float64bits(7.07106781186547524401e-01)},
	{"ln2hi", 0x3fe62e42fee00000},
	{"ln2lo", 0x3dea39ef35793c76},
	{"l1", 0x3FE5555555555593},
	{"l2", 0x3FD999999997FA04},
	{"l3", 0x3FD2492494229359},
	{"l4", 0x3FCC71C51D8E78AF},
	{"l5", 0x3FC7466496CB03DE},
	{"l6", 0x3FC39A09D078C69F},
	{"l7", 0x3FC2F112DF3E5244},
	{"mant", 0x000FFFFFFFFFFFFF},
	{"half", math.Float64bits(0.5)},
	{"one", math.Float64bits(1)},
	{"two", math.Float64bits(2)},
	{"expmask", 0x7FF},
	{"magic", 0x4330000000000000},                       // 2^52: its bits OR a small integer i are 2^52 + i
	{"kbias", math.Float64bits(float64(1<<52 + 0x3FE))}, // 2^52 + 0x3FE
	{"inf", math.Float64bits(math.Inf(1))},
	{"minnormal", 1 << 52}, // 2^−1022
}

func logConst(name string) Mem {
	for i, c := range logConsts {
		if c.name == name {
			return logData.Offset(8 * i)
		}
	}
	panic(name)
}

func main() {
	ConstraintExpr("!purego")
	lossMasks32 = GLOBL("lossmasks32", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		v := uint32(0)
		if i < 16 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	lossMasks64 = GLOBL("lossmasks64", RODATA|NOPTR)
	for i := 0; i < 32; i++ {
		v := uint64(0)
		if i < 16 {
			v = math.MaxUint64
		}
		DATA(8*i, U64(v))
	}
	logData = GLOBL("logdata", RODATA|NOPTR)
	for i, c := range logConsts {
		DATA(8*i, U64(c.bits))
	}
	maxShift(true)
	maxShift(false)
	logVec(true)
	logVec(false)
	negInf = GLOBL("lossneginf", RODATA|NOPTR)
	DATA(0, U32(math.Float32bits(float32(math.Inf(-1)))))
	argmaxRows(true)
	argmaxRows(false)
	xentRows()
	Generate()
}

// paramAddr is the frame address of a parameter, to read it again.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

func loadGP(name string) GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}

// maxShift is the first pass of a batched softmax over rows of c ≤ 16
// logits: each row's maximum, and the row minus it in float64.
func maxShift(wide bool) {
	name := "maxShift256"
	if wide {
		name = "maxShift512"
	}
	TEXT(name, NOSPLIT, "func(e *float64, m *float32, z *float32, rows, c int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets, for rows (≥ 1) rows of c (1..16) values z,", name),
		"m[r] to the row's maximum and e[r·c+j] to float64(z[r·c+j] − m[r]).",
		"The maximum is taken with VMAXPS in a tree, not in order: on NaN and",
		"on −0 against +0 it may differ from a sequential loop's (the caller",
		"makes sure that cannot matter).")
	ep, mp, zp := loadGP("e"), loadGP("m"), loadGP("z")
	rows, c := loadGP("rows"), loadGP("c")
	// Per-row byte strides.
	zs := GP64()
	MOVQ(c, zs)
	SHLQ(U8(2), zs)
	if wide {
		kin := K()
		ones, tm := GP64(), GP64()
		MOVQ(I32(-1), ones)
		BZHIQ(c, ones, tm)
		KMOVW(tm.As32(), kin)
		khi := K()
		KSHIFTRW(U8(8), kin, khi)
		Label("row" + name)
		t := ZMM()
		VBROADCASTSS(Mem{Base: zp}, t)
		VMOVUPS(Mem{Base: zp}, kin, t) // z[0] in the unused lanes
		// Horizontal maximum.
		h := YMM()
		VEXTRACTF32X8(U8(1), t, h)
		lo := t.AsY()
		mx := YMM()
		VMAXPS(h, lo, mx)
		x := XMM()
		VEXTRACTF128(U8(1), mx, x)
		mxx := mx.AsX()
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0x4e), mxx, x)
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0xb1), mxx, x)
		VMAXPS(x, mxx, mxx)
		VMOVSS(mxx, Mem{Base: mp})
		mv := ZMM()
		VBROADCASTSS(mxx, mv)
		d := ZMM()
		VSUBPS(mv, t, d)
		d0 := ZMM()
		VCVTPS2PD(d.AsY(), d0)
		VMOVUPD(d0, kin, Mem{Base: ep}) // the low 8 lanes of kin
		dh := YMM()
		VEXTRACTF32X8(U8(1), d, dh)
		d1 := ZMM()
		VCVTPS2PD(dh, d1)
		VMOVUPD(d1, khi, Mem{Base: ep, Disp: 64})
	} else {
		off := GP64()
		MOVQ(U32(16), off)
		SUBQ(c, off)
		mb32, mb64 := GP64(), GP64()
		LEAQ(lossMasks32, mb32)
		LEAQ(lossMasks64, mb64)
		m32 := [2]VecVirtual{YMM(), YMM()}
		for i := range m32 {
			VMOVDQU(Mem{Base: mb32, Index: off, Scale: 4, Disp: 32 * i}, m32[i])
		}
		m64 := [4]VecVirtual{YMM(), YMM(), YMM(), YMM()}
		for i := range m64 {
			VMOVDQU(Mem{Base: mb64, Index: off, Scale: 8, Disp: 32 * i}, m64[i])
		}
		Label("row" + name)
		b := YMM()
		VBROADCASTSS(Mem{Base: zp}, b)
		v := [2]VecVirtual{YMM(), YMM()}
		for i := range v {
			VMASKMOVPS(Mem{Base: zp, Disp: 32 * i}, m32[i], v[i])
			VBLENDVPS(m32[i], v[i], b, v[i]) // z[0] in the unused lanes
		}
		mx := YMM()
		VMAXPS(v[1], v[0], mx)
		x := XMM()
		VEXTRACTF128(U8(1), mx, x)
		mxx := mx.AsX()
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0x4e), mxx, x)
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0xb1), mxx, x)
		VMAXPS(x, mxx, mxx)
		VMOVSS(mxx, Mem{Base: mp})
		mv := YMM()
		VBROADCASTSS(mxx, mv)
		for i := range v {
			VSUBPS(mv, v[i], v[i])
			lo := YMM()
			VCVTPS2PD(v[i].AsX(), lo)
			VMASKMOVPD(lo, m64[2*i], Mem{Base: ep, Disp: 64 * i})
			hx := XMM()
			VEXTRACTF128(U8(1), v[i], hx)
			hi := YMM()
			VCVTPS2PD(hx, hi)
			VMASKMOVPD(hi, m64[2*i+1], Mem{Base: ep, Disp: 64*i + 32})
		}
	}
	ADDQ(zs, zp)
	ADDQ(zs, ep)
	ADDQ(zs, ep)
	ADDQ(U8(4), mp)
	DECQ(rows)
	JNZ(LabelRef("row" + name))
	VZEROUPPER()
	RET()
}

// logVec is Go's amd64 math.Log (log_amd64.s) on vectors: the same
// operations in the same order, lane by lane (multiplications and
// additions are commutative in IEEE arithmetic, so their operand order is
// free; subtractions keep log_amd64.s's). Lanes that log_amd64.s sends to
// its special cases (x ≤ 0, +Inf, NaN) are reported as bad, for math.Log.
func logVec(wide bool) {
	name, lanes := "log256", 4
	if wide {
		name, lanes = "log512", 8
	}
	TEXT(name, NOSPLIT, "func(dst *float64, x *float64, n int) uint64")
	Pragma("noescape")
	count := "n (1..64) values"
	if !wide {
		count = "n (4..64, a multiple of 4) values"
	}
	Doc(fmt.Sprintf("%s sets dst[i] = math.Log(x[i]) for %s, %d at a time,", name, count, lanes),
		"with the operations of Go's amd64 math.Log (log_amd64.s: frexp by the",
		"bits, then the polynomial in s = f/(2+f)), lane by lane. It returns a bit",
		"mask of the values it did not do (x ≤ 0, +Inf, NaN: math.Log's special",
		"cases); their dst is left untouched.")
	dp, xp, n := loadGP("dst"), loadGP("x"), loadGP("n")
	bad := GP64()
	XORQ(bad, bad)
	i := GP64()
	XORQ(i, i)
	vec := func() VecVirtual {
		if wide {
			return ZMM()
		}
		return YMM()
	}
	bc := func(c string) VecVirtual {
		r := vec()
		VBROADCASTSD(logConst(c), r)
		return r
	}
	Label("block" + name)
	x := vec()
	var kin, kok Register
	okv := vec()
	if wide {
		kin = K()
		rem := GP64()
		MOVQ(n, rem)
		SUBQ(i, rem)
		CMPQ(rem, U8(8))
		JLE(LabelRef("tail" + name))
		MOVQ(U32(8), rem)
		Label("tail" + name)
		ones, tm := GP64(), GP64()
		MOVQ(I32(-1), ones)
		BZHIQ(rem, ones, tm)
		KMOVB(tm.As32(), kin)
		VMOVUPD_Z(Mem{Base: xp, Index: i, Scale: 8}, kin, x)
		kok = K()
		k2 := K()
		zero := vec()
		VPXORQ(zero, zero, zero)
		VCMPPD(U8(0x1e), zero, x, kin, kok)     // x > 0 (ordered)
		VCMPPD(U8(0x11), bc("inf"), x, kin, k2) // x < +Inf (ordered)
		KANDB(k2, kok, kok)
		b := GP64()
		KXORB(kok, kin, k2) // in but not ok
		KMOVB(k2, b.As32())
		SHLXQ(i, b, b) // i is a multiple of 8 below 64
		ORQ(b, bad)
	} else {
		VMOVUPD(Mem{Base: xp, Index: i, Scale: 8}, x)
		z := vec()
		VXORPD(z, z, z)
		VCMPPD(U8(0x1e), z, x, okv) // x > 0 (ordered)
		t := vec()
		VCMPPD(U8(0x11), bc("inf"), x, t) // x < +Inf (ordered)
		VANDPD(t, okv, okv)
		b := GP64()
		VMOVMSKPD(okv, b.As32())
		XORQ(U8(15), b)
		SHLXQ(i, b, b) // one bit per value
		ORQ(b, bad)
	}
	// f1 = frexp fraction, k = exponent as float64.
	f1 := vec()
	if wide {
		VPANDQ(bc("mant"), x, f1)
		VPORQ(bc("half"), f1, f1)
	} else {
		VPAND(bc("mant"), x, f1)
		VPOR(bc("half"), f1, f1)
	}
	kf := vec()
	VPSRLQ(U8(52), x, kf)
	if wide {
		VPANDQ(bc("expmask"), kf, kf)
		VPORQ(bc("magic"), kf, kf)
	} else {
		VPAND(bc("expmask"), kf, kf)
		VPOR(bc("magic"), kf, kf)
	}
	VSUBPD(bc("kbias"), kf, kf) // exactly (bits>>52 & 0x7FF) − 0x3FE
	// if !(Sqrt2/2 < f1) { k -= 1; f1 *= 2 }
	one := bc("one")
	x3 := vec()
	if wide {
		kl := K()
		VCMPPD(U8(5), f1, bc("hsqrt2"), kl) // hsqrt2 !< f1
		VMOVAPD_Z(one, kl, x3)
	} else {
		msk := vec()
		VCMPPD(U8(5), f1, bc("hsqrt2"), msk)
		VANDPD(one, msk, x3)
	}
	VSUBPD(x3, kf, kf) // k − (0 or 1)
	VADDPD(one, x3, x3)
	VMULPD(x3, f1, f1)
	f := f1
	VSUBPD(one, f, f) // f = f1 − 1
	// s = f / (2 + f)
	d := vec()
	VADDPD(bc("two"), f, d)
	s := vec()
	VDIVPD(d, f, s)
	s2, s4 := vec(), vec()
	VMULPD(s, s, s2)
	VMULPD(s2, s2, s4)
	// t1 = s2·(L1 + s4·(L3 + s4·(L5 + s4·L7)))
	p := vec()
	VMULPD(bc("l7"), s4, p)
	for _, c := range []string{"l5", "l3"} {
		VADDPD(bc(c), p, p)
		VMULPD(s4, p, p)
	}
	VADDPD(bc("l1"), p, p)
	t1 := vec()
	VMULPD(p, s2, t1)
	// t2 = s4·(L2 + s4·(L4 + s4·L6))
	q := vec()
	VMULPD(bc("l6"), s4, q)
	VADDPD(bc("l4"), q, q)
	VMULPD(s4, q, q)
	VADDPD(bc("l2"), q, q)
	t2 := vec()
	VMULPD(q, s4, t2)
	r := vec()
	VADDPD(t2, t1, r) // R = t1 + t2
	hf := vec()
	VMULPD(bc("half"), f, hf)
	VMULPD(f, hf, hf) // hfsq = 0.5·f·f
	VADDPD(hf, r, r)  // hfsq + R
	VMULPD(r, s, s)   // s·(hfsq+R)
	lo := vec()
	VMULPD(bc("ln2lo"), kf, lo)
	VADDPD(lo, s, s)  // s·(hfsq+R) + k·Ln2Lo
	VSUBPD(s, hf, hf) // hfsq − (…)
	VSUBPD(f, hf, hf) // (hfsq − (…)) − f
	VMULPD(bc("ln2hi"), kf, kf)
	VSUBPD(hf, kf, kf) // k·Ln2Hi − ((hfsq − (…)) − f)
	if wide {
		VMOVUPD(kf, kok, Mem{Base: dp, Index: i, Scale: 8})
		ADDQ(U8(8), i)
	} else {
		VMASKMOVPD(kf, okv, Mem{Base: dp, Index: i, Scale: 8})
		ADDQ(U8(4), i)
	}
	CMPQ(i, n)
	JLT(LabelRef("block" + name))
	Store(bad, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// argmaxRows writes each row's argmax as metrics.Argmax's loop finds it:
// the first index of the largest value, NaN values never larger, and 0 when
// the row starts with NaN. Vectors: NaN and unused lanes become −Inf, the
// maximum is taken in a tree, and the index is the first lane of the
// original row equal to it (NaN equals nothing).
func argmaxRows(wide bool) {
	name := "argmaxRows256"
	if wide {
		name = "argmaxRows512"
	}
	TEXT(name, NOSPLIT, "func(idx *int32, x *float32, rows, c int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets idx[r], for rows (≥ 1) rows of c (1..16) values x, to", name),
		"the index of the row's largest value, the first on ties:",
		"",
		"\tbest, bv := 0, row[0]",
		"\tfor j, v := range row[1:] {",
		"\t\tif v > bv {",
		"\t\t\tbest, bv = j+1, v",
		"\t\t}",
		"\t}",
		"\tidx[r] = int32(best)")
	ip, xp := loadGP("idx"), loadGP("x")
	rows, c := loadGP("rows"), loadGP("c")
	xs := GP64()
	MOVQ(c, xs)
	SHLQ(U8(2), xs)
	lanes := GP64() // (1<<c) − 1
	{
		ones := GP64()
		MOVQ(I32(-1), ones)
		BZHIQ(c, ones, lanes)
	}
	ni := GP64()
	var kin Register
	var m32 [2]VecVirtual
	if wide {
		kin = K()
		KMOVW(lanes.As32(), kin)
	} else {
		off := GP64()
		MOVQ(U32(16), off)
		SUBQ(c, off)
		mb32 := GP64()
		LEAQ(lossMasks32, mb32)
		m32 = [2]VecVirtual{YMM(), YMM()}
		for i := range m32 {
			VMOVDQU(Mem{Base: mb32, Index: off, Scale: 4, Disp: 32 * i}, m32[i])
		}
	}
	Label("row" + name)
	nanbits, eqbits := GP64(), GP64()
	if wide {
		ninf := ZMM()
		VBROADCASTSS(negInf, ninf)
		t := ZMM()
		VMOVAPS(ninf, t)
		VMOVUPS(Mem{Base: xp}, kin, t) // −Inf in the unused lanes
		knan := K()
		VCMPPS(U8(3), t, t, knan) // unordered: NaN
		u := ZMM()
		VMOVAPS(t, u)
		VMOVAPS(ninf, knan, u) // NaN → −Inf
		h := YMM()
		VEXTRACTF32X8(U8(1), u, h)
		mx := YMM()
		VMAXPS(h, u.AsY(), mx)
		x := XMM()
		VEXTRACTF128(U8(1), mx, x)
		mxx := mx.AsX()
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0x4e), mxx, x)
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0xb1), mxx, x)
		VMAXPS(x, mxx, mxx)
		mv := ZMM()
		VBROADCASTSS(mxx, mv)
		keq := K()
		VCMPPS(U8(0), mv, t, kin, keq) // t == m (ordered), used lanes
		KMOVW(knan, nanbits.As32())
		KMOVW(keq, eqbits.As32())
	} else {
		ninf := YMM()
		VBROADCASTSS(negInf, ninf)
		v := [2]VecVirtual{YMM(), YMM()}
		u := [2]VecVirtual{YMM(), YMM()}
		nan := [2]VecVirtual{YMM(), YMM()}
		for i := range v {
			VMASKMOVPS(Mem{Base: xp, Disp: 32 * i}, m32[i], v[i])
			VBLENDVPS(m32[i], v[i], ninf, v[i]) // −Inf in the unused lanes
			VCMPPS(U8(3), v[i], v[i], nan[i])
			VBLENDVPS(nan[i], ninf, v[i], u[i]) // NaN → −Inf
		}
		mx := YMM()
		VMAXPS(u[1], u[0], mx)
		x := XMM()
		VEXTRACTF128(U8(1), mx, x)
		mxx := mx.AsX()
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0x4e), mxx, x)
		VMAXPS(x, mxx, mxx)
		VPERMILPS(U8(0xb1), mxx, x)
		VMAXPS(x, mxx, mxx)
		mv := YMM()
		VBROADCASTSS(mxx, mv)
		hi := GP64()
		VMOVMSKPS(nan[0], nanbits.As32())
		for i := range v {
			VCMPPS(U8(0), mv, v[i], v[i]) // v == m (ordered)
		}
		VMOVMSKPS(v[0], eqbits.As32())
		VMOVMSKPS(v[1], hi.As32())
		SHLL(U8(8), hi.As32())
		ORL(hi.As32(), eqbits.As32())
		ANDL(lanes.As32(), eqbits.As32())
	}
	// The first equal lane, or 0 if the row starts with NaN.
	TZCNTL(eqbits.As32(), ni.As32())
	zero := GP64()
	XORL(zero.As32(), zero.As32())
	TESTL(U32(1), nanbits.As32())
	CMOVLNE(zero.As32(), ni.As32())
	MOVL(ni.As32(), Mem{Base: ip})
	ADDQ(xs, xp)
	ADDQ(U8(4), ip)
	DECQ(rows)
	JNZ(LabelRef("row" + name))
	VZEROUPPER()
	RET()
}

// xentRows is the last pass of a batched softmax cross-entropy with dense
// targets (losses' softmaxXent) on AVX2 (AVX-512 machines run it too: its
// rows of up to 16 values are few vectors either way). Per row: the loss
// terms t_j·(z_j − lse) in float64 four at a time, stored and subtracted
// from the loss one by one in order; Σt by scalar additions in order; the
// gradient (p·Σt − t)/n eight at a time.
func xentRows() {
	name := "xentRows256"
	TEXT(name, NOSPLIT, "func(grad *float32, loss *float64, e *float64, z *float32, t *float32, m *float32, lg *float64, s *float64, rows, c int, inv float32)")
	Pragma("noescape")
	Doc(name+" is, for rows (≥ 1) rows of c (1..16) values (g = grad, which may be nil):",
		"",
		"\tfor r := range rows {",
		"\t\tlse := float64(m[r]) + lg[r]",
		"\t\tsi := 1 / s[r]",
		"\t\tvar ts float32",
		"\t\tfor j := range c {",
		"\t\t\tts += t[r*c+j]",
		"\t\t}",
		"\t\tvar l float64",
		"\t\tfor j := range c {",
		"\t\t\ttj := t[r*c+j]",
		"\t\t\tl -= float64(tj) * (float64(z[r*c+j]) - lse)",
		"\t\t\tif g != nil {",
		"\t\t\t\tp := float32(float64(float32(e[r*c+j])) * si)",
		"\t\t\t\tg[r*c+j] = (p*ts - tj) * inv",
		"\t\t\t}",
		"\t\t}",
		"\t\tloss[r] = l",
		"\t}")
	gp, lossp, ep := loadGP("grad"), loadGP("loss"), loadGP("e")
	zp, tp, mp := loadGP("z"), loadGP("t"), loadGP("m")
	lgp, sp := loadGP("lg"), loadGP("s")
	rows, c := loadGP("rows"), loadGP("c")
	invv := YMM()
	VBROADCASTSS(Load(Param("inv"), XMM()), invv)
	// The lane masks of the row's 16 float32 values (sign-extended for
	// float64 lanes).
	off, mk32 := GP64(), GP64()
	MOVQ(U32(16), off)
	SUBQ(c, off)
	LEAQ(lossMasks32, mk32)
	LEAQ(Mem{Base: mk32, Index: off, Scale: 4}, mk32)
	scratch := AllocLocal(128)
	zs := GP64()
	MOVQ(c, zs)
	SHLQ(U8(2), zs)
	one := XMM()
	MOVSD(logConst("one"), one)
	Label("row" + name)
	// lse and 1/s
	lse := XMM()
	VCVTSS2SD(Mem{Base: mp}, lse, lse)
	VADDSD(Mem{Base: lgp}, lse, lse)
	lsev := YMM()
	VBROADCASTSD(lse, lsev)
	si := XMM()
	VDIVSD(Mem{Base: sp}, one, si)
	// Σt in order.
	ts := XMM()
	VXORPS(ts, ts, ts)
	j := GP64()
	XORQ(j, j)
	Label("ts" + name)
	VADDSS(Mem{Base: tp, Index: j, Scale: 4}, ts, ts)
	INCQ(j)
	CMPQ(j, c)
	JLT(LabelRef("ts" + name))
	// The loss terms.
	for h := 0; h < 2; h++ {
		msk := YMM()
		VMOVDQU(Mem{Base: mk32, Disp: 32 * h}, msk)
		tf, zf := YMM(), YMM()
		VMASKMOVPS(Mem{Base: tp, Disp: 32 * h}, msk, tf)
		VMASKMOVPS(Mem{Base: zp, Disp: 32 * h}, msk, zf)
		for q := 0; q < 2; q++ {
			tx, zx := tf.AsX(), zf.AsX()
			if q == 1 {
				tx, zx = XMM(), XMM()
				VEXTRACTF128(U8(1), tf, tx)
				VEXTRACTF128(U8(1), zf, zx)
			}
			td, zd := YMM(), YMM()
			VCVTPS2PD(tx, td)
			VCVTPS2PD(zx, zd)
			VSUBPD(lsev, zd, zd) // z − lse
			VMULPD(zd, td, td)   // t·(z − lse)
			VMOVUPD(td, scratch.Offset(32*(2*h+q)))
		}
	}
	l := XMM()
	VXORPD(l, l, l)
	XORQ(j, j)
	Label("loss" + name)
	VSUBSD(scratch.Idx(j, 8), l, l)
	INCQ(j)
	CMPQ(j, c)
	JLT(LabelRef("loss" + name))
	VMOVSD(l, Mem{Base: lossp})
	CMPQ(paramAddr("grad"), U8(0))
	JEQ(LabelRef("next" + name))
	// The gradient.
	siv, tsv := YMM(), YMM()
	VBROADCASTSD(si, siv)
	VBROADCASTSS(ts, tsv)
	minNormal := YMM()
	VBROADCASTSD(logConst("minnormal"), minNormal)
	for h := 0; h < 2; h++ {
		var px [2]VecVirtual
		for q := 0; q < 2; q++ {
			msk := YMM()
			VPMOVSXDQ(Mem{Base: mk32, Disp: 32*h + 16*q}, msk)
			ed := YMM()
			VMASKMOVPD(Mem{Base: ep, Disp: 32 * (2*h + q)}, msk, ed)
			// float32 of a subnormal float64 is +0: zero those lanes first
			// (the same value, without a microcode assist).
			tiny := YMM()
			VCMPPD(U8(1), minNormal, ed, tiny) // e < 2^−1022
			VANDNPD(ed, tiny, ed)
			p := XMM()
			VCVTPD2PSY(ed, p)   // float32(e)
			VCVTPS2PD(p, ed)    // float64(float32(e))
			VMULPD(siv, ed, ed) // · (1/s)
			VCVTPD2PSY(ed, p)
			px[q] = p
		}
		pv := YMM()
		VINSERTF128(U8(1), px[1], px[0].AsY(), pv)
		msk := YMM()
		VMOVDQU(Mem{Base: mk32, Disp: 32 * h}, msk)
		tf := YMM()
		VMASKMOVPS(Mem{Base: tp, Disp: 32 * h}, msk, tf)
		VMULPS(tsv, pv, pv)  // p·Σt
		VSUBPS(tf, pv, pv)   // − t
		VMULPS(invv, pv, pv) // · (1/n)
		VMASKMOVPS(pv, msk, Mem{Base: gp, Disp: 32 * h})
	}
	Label("next" + name)
	ADDQ(zs, zp)
	ADDQ(zs, tp)
	ADDQ(zs, gp)
	ADDQ(zs, ep)
	ADDQ(zs, ep)
	ADDQ(U8(4), mp)
	ADDQ(U8(8), lgp)
	ADDQ(U8(8), sp)
	ADDQ(U8(8), lossp)
	DECQ(rows)
	JNZ(LabelRef("row" + name))
	VZEROUPPER()
	RET()
}
