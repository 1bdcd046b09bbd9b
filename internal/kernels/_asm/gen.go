// Command _asm generates kiln's amd64 kernels (../kernels_amd64.s and
// ../stubs_amd64.go) with avo. It lives in its own module so that avo is not
// a dependency of kiln. Run it through go generate in the parent directory:
//
//	go generate ./internal/kernels
//
// Every kernel performs the float32 operations of the pure-Go reference in
// ../ref.go in the same order, with a separate multiply and add (never an
// FMA), so results are bit-identical to it. Each function's doc comment shows
// the Go loop it computes.
package main

import (
	"fmt"
	"math"
	"strconv"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// maxVec is the widest column block (in vectors) the row kernels keep in
// registers: 8 ZMM = 128 floats, or 8 YMM = 64 floats.
const maxVec = 8

var (
	iota32    Mem // 0, 1, ..., 15 as int32
	tailMask  Mem // 8 × int32 -1 then 8 × 0: load at (8-n)*4 for an n-lane mask
	permTable Mem // AVX2 left-packing permutations, 256 × 8 int32
)

func main() {
	ConstraintExpr("!purego")

	iota32 = GLOBL("iota32", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i))
	}
	tailMask = GLOBL("tailmask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
	permTable = GLOBL("permtable", RODATA|NOPTR)
	for m := 0; m < 256; m++ {
		var idx [8]uint32
		c := 0
		for b := 0; b < 8; b++ {
			if m&(1<<b) != 0 {
				idx[c] = uint32(b)
				c++
			}
		}
		for i, v := range idx {
			DATA(32*m+4*i, U32(v))
		}
	}

	nonZero512()
	nonZero256()
	nonZeroU8512()
	nonZeroU8256()
	for nv := 1; nv <= maxVec; nv++ {
		accumRows512(nv)
	}
	for nv := 1; nv <= maxVec; nv++ {
		accumRows256(nv)
	}
	for nv := 1; nv <= 2; nv++ {
		accumPair(nv, true, false)
		accumPair(nv, false, false)
		accumPair(nv, false, true)
	}
	for nv := 1; nv <= 2; nv++ {
		scatterRows512(nv)
		scatterRows256(nv)
	}
	scatterBatch512()
	scatterBatch256(1, false)
	scatterBatch256(2, false)
	scatterBatch256(1, true)
	scatterBatch256(2, true)
	copyRows512()
	copyRows256()
	for nv := 1; nv <= maxVec; nv++ {
		gradRows512(nv)
	}
	for nv := 1; nv <= tileVec; nv++ {
		accumTile512(nv)
	}
	for nv := 1; nv <= maxVec; nv++ {
		accumCols512(nv)
	}
	for nv := 1; nv <= maxVec; nv++ {
		gradRows256(nv)
	}
	sgd512()
	sgd256()
	adam512()
	adam256()
	rmsprop512()
	rmsprop256()
	transpose512()
	u8ToF32512()
	u8ToF32256()
	u8Lookup512()
	u8Lookup256()
	prefetch()
	prefetchRows()
	relu(true)
	relu(false)
	reluGrad(true)
	reluGrad(false)
	for _, fma := range []bool{false, true} {
		exp512(fma)
		exp256(fma)
		expSum512(fma)
		expSum256(fma)
	}
	channelKernels()
	Generate()
}

func nonZeroDoc(name string) {
	Doc(name+" is NonZero for len(x) = n (≥ 1). idx and val need n+16",
		"elements: whole vectors are stored past the last non-zero one.",
		"",
		"\tc := 0",
		"\tfor k, v := range x[:n] {",
		"\t\tif v != 0 {",
		"\t\t\tidx[c], val[c] = int32(k), v",
		"\t\t\tc++",
		"\t\t\tif mask != nil {",
		"\t\t\t\tmask[k] |= bit",
		"\t\t\t}",
		"\t\t}",
		"\t}",
		"\treturn c")
}

// nonZero512 compresses 16 elements per step with VPCOMPRESSD/VCOMPRESSPS.
func nonZero512() {
	TEXT("nonZero512", NOSPLIT, "func(idx *int32, val *float32, x *float32, n int, mask *uint64, bit uint64) int")
	Pragma("noescape")
	nonZeroDoc("nonZero512")
	offp := loadGP("idx")
	valp := loadGP("val")
	xp := loadGP("x")
	n := loadGP("n")
	maskp := loadGP("mask")
	bit := loadGP("bit")

	zero, offs, step, zbit := ZMM(), ZMM(), ZMM(), ZMM()
	VPXORD(zero, zero, zero)
	VMOVDQU32(iota32, offs) // k = 0..15
	sixteen := GP64()
	MOVQ(U32(16), sixteen)
	VPBROADCASTD(sixteen.As32(), step)
	VPBROADCASTQ(bit, zbit)

	c := GP64()
	XORQ(c, c)
	k := GP64()
	XORQ(k, k)
	cnt := GP64()
	xv, co, cv, zm := ZMM(), ZMM(), ZMM(), ZMM()
	kin, knz, khi := K(), K(), K()

	// body handles one 16-element chunk whose valid lanes are kin.
	body := func(suffix string) {
		VMOVUPS_Z(Mem{Base: xp, Index: k, Scale: 4}, kin, xv)
		VCMPPS(U8(4), zero, xv, kin, knz) // NEQ_UQ: NaN counts as non-zero, like Go's !=
		VPCOMPRESSD_Z(offs, knz, co)
		VCOMPRESSPS_Z(xv, knz, cv)
		VMOVDQU32(co, Mem{Base: offp, Index: c, Scale: 4})
		VMOVUPS(cv, Mem{Base: valp, Index: c, Scale: 4})
		KMOVW(knz, cnt.As32())
		POPCNTL(cnt.As32(), cnt.As32())
		ADDQ(cnt, c)
		TESTQ(maskp, maskp)
		JZ(LabelRef("nomask" + suffix))
		KSHIFTRW(U8(8), knz, khi)
		VMOVDQU64_Z(Mem{Base: maskp, Index: k, Scale: 8}, knz, zm)
		VPORQ(zbit, zm, knz, zm)
		VMOVDQU64(zm, knz, Mem{Base: maskp, Index: k, Scale: 8})
		VMOVDQU64_Z(Mem{Base: maskp, Index: k, Scale: 8, Disp: 64}, khi, zm)
		VPORQ(zbit, zm, khi, zm)
		VMOVDQU64(zm, khi, Mem{Base: maskp, Index: k, Scale: 8, Disp: 64})
		Label("nomask" + suffix)
	}

	full := GP64()
	MOVQ(n, full)
	ANDQ(I32(-16), full)
	KXNORW(kin, kin, kin)
	Label("loop")
	CMPQ(k, full)
	JGE(LabelRef("tail"))
	body("")
	VPADDD(step, offs, offs)
	ADDQ(U8(16), k)
	JMP(LabelRef("loop"))

	Label("tail")
	rem := GP64()
	MOVQ(n, rem)
	SUBQ(k, rem)
	JZ(LabelRef("done"))
	laneMask(rem, kin)
	body("tail")

	Label("done")
	VZEROUPPER()
	Store(c, ReturnIndex(0))
	RET()
}

// nonZero256 packs 8 elements per step with a permutation table.
func nonZero256() {
	TEXT("nonZero256", NOSPLIT, "func(idx *int32, val *float32, x *float32, n int, mask *uint64, bit uint64) int")
	Pragma("noescape")
	nonZeroDoc("nonZero256")
	offp := loadGP("idx")
	valp := loadGP("val")
	xp := loadGP("x")
	n := loadGP("n")
	maskp := loadGP("mask")

	zero, offs, step := YMM(), YMM(), YMM()
	VXORPS(zero, zero, zero)
	VMOVDQU(iota32, offs) // k = 0..7
	sx := XMM()
	eight := GP64()
	MOVQ(U32(8), eight)
	MOVQ(eight, sx)
	VPBROADCASTD(sx, step)
	vbit := YMM()
	{
		b, bx := loadGP("bit"), XMM()
		MOVQ(b, bx)
		VPBROADCASTQ(bx, vbit)
	}

	c, k, bits, t := GP64(), GP64(), GP64(), GP64()
	XORQ(c, c)
	XORQ(k, k)
	full := GP64()
	MOVQ(n, full)
	ANDQ(I32(-8), full)
	tbl, full16 := GP64(), GP64()
	LEAQ(permTable, tbl)
	MOVQ(n, full16)
	ANDQ(I32(-16), full16)
	// The loop is written twice, without and with mask, 16 elements (two
	// vectors) an iteration, then one vector.
	loop := func(withMask bool, lbl string, vecs int) {
		Label(lbl)
		if vecs == 2 {
			CMPQ(k, full16)
		} else {
			CMPQ(k, full)
		}
		JGE(LabelRef(map[int]string{2: map[bool]string{false: "one", true: "onemask"}[withMask], 1: "tail"}[vecs]))
		for h := 0; h < vecs; h++ {
			xv, cmp, perm, co, cv := YMM(), YMM(), YMM(), YMM(), YMM()
			VMOVUPS(Mem{Base: xp, Index: k, Scale: 4, Disp: 32 * h}, xv)
			VCMPPS(U8(4), zero, xv, cmp) // NEQ_UQ
			VMOVMSKPS(cmp, bits.As32())
			MOVQ(bits, t)
			SHLQ(U8(5), t)
			VMOVDQU(Mem{Base: tbl, Index: t, Scale: 1}, perm)
			VPERMD(offs, perm, co)
			VPERMPS(xv, perm, cv)
			VMOVDQU(co, Mem{Base: offp, Index: c, Scale: 4})
			VMOVUPS(cv, Mem{Base: valp, Index: c, Scale: 4})
			POPCNTL(bits.As32(), t.As32())
			ADDQ(t, c)
			if withMask {
				// mask[k+l] |= bit for the non-zero lanes l: the
				// comparison's lanes widened to 64 bits select bit, ORed
				// into two vectors of 4 words.
				for q := 0; q < 2; q++ {
					wide, mv := YMM(), YMM()
					if q == 0 {
						VPMOVSXDQ(cmp.AsX(), wide)
					} else {
						hi := XMM()
						VEXTRACTI128(U8(1), cmp, hi)
						VPMOVSXDQ(hi, wide)
					}
					VPAND(vbit, wide, wide)
					disp := 32*q + 64*h
					VPOR(Mem{Base: maskp, Index: k, Scale: 8, Disp: disp}, wide, mv)
					VMOVDQU(mv, Mem{Base: maskp, Index: k, Scale: 8, Disp: disp})
				}
			}
			VPADDD(step, offs, offs)
		}
		ADDQ(U8(8*vecs), k)
		JMP(LabelRef(lbl))
	}
	TESTQ(maskp, maskp)
	JNZ(LabelRef("loopmask"))
	loop(false, "loop", 2)
	loop(false, "one", 1)
	loop(true, "loopmask", 2)
	loop(true, "onemask", 1)

	// The last < 8 elements, one at a time.
	Label("tail")
	CMPQ(k, n)
	JGE(LabelRef("done"))
	v := XMM()
	MOVSS(Mem{Base: xp, Index: k, Scale: 4}, v)
	zx := XMM()
	XORPS(zx, zx)
	UCOMISS(zx, v)
	JNE(LabelRef("keep"))
	JP(LabelRef("keep")) // NaN
	JMP(LabelRef("next"))
	Label("keep")
	MOVSS(v, Mem{Base: valp, Index: c, Scale: 4})
	MOVL(k.As32(), Mem{Base: offp, Index: c, Scale: 4})
	INCQ(c)
	TESTQ(maskp, maskp)
	JZ(LabelRef("next"))
	b2 := GP64()
	Load(Param("bit"), b2)
	ORQ(b2, Mem{Base: maskp, Index: k, Scale: 8})
	Label("next")
	INCQ(k)
	JMP(LabelRef("tail"))

	Label("done")
	VZEROUPPER()
	Store(c, ReturnIndex(0))
	RET()
}

func nonZeroU8Doc(name string) {
	Doc(name+" is NonZeroU8 for len(src) = n (≥ 1). idx and val need n+16",
		"elements. With lut nil the values are float32(b), else lut[b]; the caller",
		"guarantees that b != 0 exactly when that value != 0.",
		"",
		"\tc := 0",
		"\tfor k, b := range src[:n] {",
		"\t\tif b != 0 {",
		"\t\t\tidx[c], val[c] = int32(k), float32(b) // or lut[b]",
		"\t\t\tc++",
		"\t\t}",
		"\t}",
		"\treturn c")
}

// nonZeroU8512 widens 16 bytes at a time to int32 lanes, compresses the
// non-zero ones and their indices, and converts (or looks up) the values.
func nonZeroU8512() {
	TEXT("nonZeroU8512", NOSPLIT, "func(idx *int32, val *float32, src *uint8, n int, lut *[256]float32) int")
	Pragma("noescape")
	nonZeroU8Doc("nonZeroU8512")
	idxp := loadGP("idx")
	valp := loadGP("val")
	sp := loadGP("src")
	n := loadGP("n")
	lut := loadGP("lut")
	iota, step := ZMM(), ZMM()
	VMOVDQU32(iota32, iota)
	sixteen := GP64()
	MOVQ(U32(16), sixteen)
	VPBROADCASTD(sixteen.As32(), step)
	c, k, cnt, ones := GP64(), GP64(), GP64(), GP64()
	XORQ(c, c)
	XORQ(k, k)
	MOVQ(I32(-1), ones)
	b, ci, cv := ZMM(), ZMM(), ZMM()
	kin, knz, kg := K(), K(), K()
	body := func(suffix string) {
		VPMOVZXBD_Z(Mem{Base: sp, Index: k, Scale: 1}, kin, b)
		VPTESTMD(b, b, kin, knz)
		VPCOMPRESSD_Z(iota, knz, ci)
		VPCOMPRESSD_Z(b, knz, cv)
		VMOVDQU32(ci, Mem{Base: idxp, Index: c, Scale: 4})
		KMOVW(knz, cnt.As32())
		POPCNTL(cnt.As32(), cnt.As32())
		TESTQ(lut, lut)
		JNZ(LabelRef("lut" + suffix))
		VCVTDQ2PS(cv, cv)
		JMP(LabelRef("store" + suffix))
		Label("lut" + suffix)
		tm := GP64()
		BZHIQ(cnt, ones, tm)
		KMOVW(tm.As32(), kg)
		g := ZMM()
		VPXORD(g, g, g)
		VGATHERDPS(Mem{Base: lut, Index: cv, Scale: 4}, kg, g)
		VMOVAPS(g, cv)
		Label("store" + suffix)
		VMOVUPS(cv, Mem{Base: valp, Index: c, Scale: 4})
		ADDQ(cnt, c)
	}
	full := GP64()
	MOVQ(n, full)
	ANDQ(I32(-16), full)
	KXNORW(kin, kin, kin)
	Label("loop")
	CMPQ(k, full)
	JGE(LabelRef("tail"))
	body("")
	VPADDD(step, iota, iota)
	ADDQ(U8(16), k)
	JMP(LabelRef("loop"))
	Label("tail")
	rem := GP64()
	MOVQ(n, rem)
	SUBQ(k, rem)
	JZ(LabelRef("done"))
	laneMask(rem, kin)
	body("tail")
	Label("done")
	VZEROUPPER()
	Store(c, ReturnIndex(0))
	RET()
}

// nonZeroU8256 finds the non-zero bytes of 16 at a time (VPCMPEQB,
// VPMOVMSKB), then widens each half of 8 and packs it with the permutation
// table; the last < 16 bytes go one at a time. The loop is written twice,
// with and without lut, so that it has no test of lut.
func nonZeroU8256() {
	TEXT("nonZeroU8256", NOSPLIT, "func(idx *int32, val *float32, src *uint8, n int, lut *[256]float32) int")
	Pragma("noescape")
	nonZeroU8Doc("nonZeroU8256")
	idxp := loadGP("idx")
	valp := loadGP("val")
	sp := loadGP("src")
	n := loadGP("n")
	lut := loadGP("lut")
	iota0, iota1, step, zero := YMM(), YMM(), YMM(), YMM()
	VMOVDQU(iota32, iota0)            // k = 0..7
	VMOVDQU(iota32.Offset(32), iota1) // k = 8..15
	sixteen := GP64()
	MOVQ(U32(16), sixteen)
	sx := XMM()
	MOVQ(sixteen, sx)
	VPBROADCASTD(sx, step)
	VPXOR(zero, zero, zero)
	c, k, bits, t, h, full, tbl := GP64(), GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	XORQ(c, c)
	XORQ(k, k)
	MOVQ(n, full)
	ANDQ(I32(-16), full)
	LEAQ(permTable, tbl)
	loop := func(withLUT bool) {
		sfx := map[bool]string{false: "", true: "lut"}[withLUT]
		Label("loop" + sfx)
		CMPQ(k, full)
		JGE(LabelRef("tail"))
		b16, cmp := XMM(), XMM()
		VMOVDQU(Mem{Base: sp, Index: k, Scale: 1}, b16)
		VPCMPEQB(zero.AsX(), b16, cmp)
		VPMOVMSKB(cmp, bits.As32())
		XORL(U32(0xffff), bits.As32()) // non-zero bytes
		for half := 0; half < 2; half++ {
			if half == 0 {
				MOVBLZX(bits.As8(), h.As32())
			} else {
				MOVL(bits.As32(), h.As32())
				SHRL(U8(8), h.As32())
			}
			MOVQ(h, t)
			SHLQ(U8(5), t)
			perm, b, ci, cv := YMM(), YMM(), YMM(), YMM()
			VMOVDQU(Mem{Base: tbl, Index: t, Scale: 1}, perm)
			VPMOVZXBD(Mem{Base: sp, Index: k, Scale: 1, Disp: 8 * half}, b)
			VPERMD([]VecVirtual{iota0, iota1}[half], perm, ci)
			VPERMD(b, perm, cv)
			VMOVDQU(ci, Mem{Base: idxp, Index: c, Scale: 4})
			if withLUT {
				m, g := YMM(), YMM()
				VPCMPEQD(m, m, m) // all lanes: the packed codes past the count are valid bytes too
				VPXOR(g, g, g)
				VGATHERDPS(m, Mem{Base: lut, Index: cv, Scale: 4}, g)
				VMOVUPS(g, Mem{Base: valp, Index: c, Scale: 4})
			} else {
				VCVTDQ2PS(cv, cv)
				VMOVUPS(cv, Mem{Base: valp, Index: c, Scale: 4})
			}
			POPCNTL(h.As32(), h.As32())
			ADDQ(h, c)
		}
		VPADDD(step, iota0, iota0)
		VPADDD(step, iota1, iota1)
		ADDQ(U8(16), k)
		JMP(LabelRef("loop" + sfx))
	}
	TESTQ(lut, lut)
	JNZ(LabelRef("looplut"))
	loop(false)
	loop(true)

	Label("tail")
	CMPQ(k, n)
	JGE(LabelRef("done"))
	v := GP64()
	MOVBQZX(Mem{Base: sp, Index: k, Scale: 1}, v)
	TESTQ(v, v)
	JZ(LabelRef("next"))
	MOVL(k.As32(), Mem{Base: idxp, Index: c, Scale: 4})
	f := XMM()
	TESTQ(lut, lut)
	JNZ(LabelRef("tlut"))
	CVTSQ2SS(v, f)
	JMP(LabelRef("tstore"))
	Label("tlut")
	MOVSS(Mem{Base: lut, Index: v, Scale: 4}, f)
	Label("tstore")
	MOVSS(f, Mem{Base: valp, Index: c, Scale: 4})
	INCQ(c)
	Label("next")
	INCQ(k)
	JMP(LabelRef("tail"))
	Label("done")
	VZEROUPPER()
	Store(c, ReturnIndex(0))
	RET()
}

func accumDoc(name string, nv, lanes int) {
	Doc(fmt.Sprintf("%s is AccumRows for one block of up to %d columns: %d vectors, the", name, nv*lanes, nv),
		"last one masked to its first tail lanes. z and w point at the block; n ≥ 1",
		"rows are added.",
		"",
		"\tfor i := 0; i < n; i++ {",
		"\t\tfor j := range block {",
		"\t\t\tz[j] += float32(val[i] * w[int(idx[i])*stride+j])",
		"\t\t}",
		"\t}")
}

// accumRows512 keeps a block of nv ZMM accumulators in registers.
func accumRows512(nv int) {
	name := fmt.Sprintf("accumRows512x%d", nv)
	TEXT(name, NOSPLIT, "func(z *float32, w *float32, stride int, idx *int32, val *float32, n int, tail int)")
	Pragma("noescape")
	accumDoc(name, nv, 16)
	zp := loadGP("z")
	wp := loadGP("w")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	offp := loadGP("idx")
	valp := loadGP("val")
	n := loadGP("n")
	kt := K()
	laneMask(loadGP("tail"), kt)
	acc := make([]VecVirtual, nv)
	for v := range acc {
		acc[v] = ZMM()
		if v == nv-1 {
			VMOVUPS_Z(Mem{Base: zp, Disp: 64 * v}, kt, acc[v])
		} else {
			VMOVUPS(Mem{Base: zp, Disp: 64 * v}, acc[v])
		}
	}
	i, o, p := GP64(), GP64(), GP64()
	XORQ(i, i)
	bv := ZMM()
	Label("loop")
	MOVLQSX(Mem{Base: offp, Index: i, Scale: 4}, o)
	IMULQ(stride4, o)
	LEAQ(Mem{Base: wp, Index: o, Scale: 1}, p)
	VBROADCASTSS(Mem{Base: valp, Index: i, Scale: 4}, bv)
	for v := range acc {
		t := ZMM()
		if v == nv-1 {
			VMULPS_Z(Mem{Base: p, Disp: 64 * v}, bv, kt, t)
		} else {
			VMULPS(Mem{Base: p, Disp: 64 * v}, bv, t)
		}
		VADDPS(t, acc[v], acc[v])
	}
	INCQ(i)
	CMPQ(i, n)
	JLT(LabelRef("loop"))
	for v := range acc {
		if v == nv-1 {
			VMOVUPS(acc[v], kt, Mem{Base: zp, Disp: 64 * v})
		} else {
			VMOVUPS(acc[v], Mem{Base: zp, Disp: 64 * v})
		}
	}
	VZEROUPPER()
	RET()
}

// loadGP loads an integer or pointer parameter into a new register.
func loadGP(name string) GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}

// paramAddr is the frame address of a parameter, for reloading it in a loop.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// laneMask sets k to the mask of the low n lanes (n ≤ 16; BMI2's BZHI).
func laneMask(n Register, k Register) {
	ones, tm := GP64(), GP64()
	MOVQ(I32(-1), ones)
	BZHIQ(n, ones, tm)
	KMOVW(tm.As32(), k)
}

// accumPair is AccumRows for two rows at once: the two accumulator chains
// are independent, so their additions overlap instead of waiting for each
// other's latency. Up to 2 vectors per row.
// accumPair is AccumRows2. With whole (AVX2), the rows of w are read as
// whole vectors, past the row's end into the next row or w's spare
// capacity (the wrapper checks there is room): the extra lanes accumulate
// values that the masked store at the end drops. A VMASKMOVPS load per
// entry made the seed workload's forward pass 1.5 times AVX-512's on the
// Zen 5 measured.
func accumPair(nv int, wide, whole bool) {
	lanes, vsize := 8, 32
	name := fmt.Sprintf("accumPair256x%d", nv)
	if whole {
		name += "whole"
	}
	if wide {
		lanes, vsize = 16, 64
		name = fmt.Sprintf("accumPair512x%d", nv)
	}
	TEXT(name, NOSPLIT, "func(z0 *float32, z1 *float32, w *float32, stride int, idx0 *int32, val0 *float32, n0 int, idx1 *int32, val1 *float32, n1 int, tail int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is AccumRows on two rows z0 and z1 of up to %d columns (%d vectors,", name, nv*lanes, nv),
		"the last masked to its first tail lanes), interleaving their independent sums:",
		"",
		"\tfor i := 0; i < n0; i++ {",
		"\t\tfor j := range z0 {",
		"\t\t\tz0[j] += float32(val0[i] * w[int(idx0[i])*stride+j])",
		"\t\t}",
		"\t}",
		"\t(the same for z1 with idx1, val1, n1)")
	vec := func() VecVirtual {
		if wide {
			return ZMM()
		}
		return YMM()
	}
	z0 := loadGP("z0")
	z1 := loadGP("z1")
	wp := loadGP("w")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	var kt Register
	var mt VecVirtual
	if wide {
		kt = K()
		laneMask(loadGP("tail"), kt)
	} else {
		mt = loadTailMask256(loadGP("tail"))
	}
	load := func(m Mem, dst VecVirtual, last bool) {
		switch {
		case !last:
			VMOVUPS(m, dst)
		case wide:
			VMOVUPS_Z(m, kt, dst)
		default:
			VMASKMOVPS(m, mt, dst)
		}
	}
	store := func(src VecVirtual, m Mem, last bool) {
		switch {
		case !last:
			VMOVUPS(src, m)
		case wide:
			VMOVUPS(src, kt, m)
		default:
			VMASKMOVPS(src, mt, m)
		}
	}
	a0, a1 := make([]VecVirtual, nv), make([]VecVirtual, nv)
	for v := 0; v < nv; v++ {
		a0[v], a1[v] = vec(), vec()
		load(Mem{Base: z0, Disp: vsize * v}, a0[v], v == nv-1)
		load(Mem{Base: z1, Disp: vsize * v}, a1[v], v == nv-1)
	}
	// add accumulates row i of one list into acc.
	add := func(acc []VecVirtual, idxp, valp, i Register) {
		o := GP64()
		MOVLQSX(Mem{Base: idxp, Index: i, Scale: 4}, o)
		IMULQ(stride4, o)
		ADDQ(wp, o)
		b := vec()
		VBROADCASTSS(Mem{Base: valp, Index: i, Scale: 4}, b)
		for v := range acc {
			t := vec()
			switch {
			case v < nv-1 || whole:
				VMULPS(Mem{Base: o, Disp: vsize * v}, b, t)
			case wide:
				VMULPS_Z(Mem{Base: o, Disp: vsize * v}, b, kt, t) // masked load and multiply
			default:
				load(Mem{Base: o, Disp: vsize * v}, t, true)
				VMULPS(t, b, t)
			}
			VADDPS(t, acc[v], acc[v])
		}
	}
	idx0, val0, n0 := loadGP("idx0"), loadGP("val0"), loadGP("n0")
	idx1, val1, n1 := loadGP("idx1"), loadGP("val1"), loadGP("n1")
	m := GP64()
	MOVQ(n0, m)
	CMPQ(n1, m)
	CMOVQLT(n1, m) // m = min(n0, n1)
	i := GP64()
	XORQ(i, i)
	TESTQ(m, m)
	JZ(LabelRef("rest0"))
	Label("both")
	add(a0, idx0, val0, i)
	add(a1, idx1, val1, i)
	INCQ(i)
	CMPQ(i, m)
	JLT(LabelRef("both"))
	Label("rest0")
	j := GP64()
	MOVQ(i, j)
	CMPQ(i, n0)
	JGE(LabelRef("rest1"))
	Label("loop0")
	add(a0, idx0, val0, i)
	INCQ(i)
	CMPQ(i, n0)
	JLT(LabelRef("loop0"))
	Label("rest1")
	CMPQ(j, n1)
	JGE(LabelRef("done"))
	Label("loop1")
	add(a1, idx1, val1, j)
	INCQ(j)
	CMPQ(j, n1)
	JLT(LabelRef("loop1"))
	Label("done")
	for v := 0; v < nv; v++ {
		store(a0[v], Mem{Base: z0, Disp: vsize * v}, v == nv-1)
		store(a1[v], Mem{Base: z1, Disp: vsize * v}, v == nv-1)
	}
	VZEROUPPER()
	RET()
}

// loadTailMask256 loads an AVX2 lane mask of the first tail (1..8) lanes.
func loadTailMask256(tail Register) VecVirtual {
	m := YMM()
	t := GP64()
	MOVQ(U32(8), t)
	SUBQ(tail, t)
	p := GP64()
	LEAQ(tailMask, p)
	VMOVDQU(Mem{Base: p, Index: t, Scale: 4}, m)
	return m
}

// accumRows256 keeps a block of nv YMM accumulators in registers.
func accumRows256(nv int) {
	name := fmt.Sprintf("accumRows256x%d", nv)
	TEXT(name, NOSPLIT, "func(z *float32, w *float32, stride int, idx *int32, val *float32, n int, tail int)")
	Pragma("noescape")
	accumDoc(name, nv, 8)
	zp := loadGP("z")
	wp := loadGP("w")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	offp := loadGP("idx")
	valp := loadGP("val")
	n := loadGP("n")
	tail := loadGP("tail")
	mt := loadTailMask256(tail)
	acc := make([]VecVirtual, nv)
	for v := range acc {
		acc[v] = YMM()
		if v == nv-1 {
			VMASKMOVPS(Mem{Base: zp, Disp: 32 * v}, mt, acc[v])
		} else {
			VMOVUPS(Mem{Base: zp, Disp: 32 * v}, acc[v])
		}
	}
	i, o, p := GP64(), GP64(), GP64()
	XORQ(i, i)
	bv := YMM()
	Label("loop")
	MOVLQSX(Mem{Base: offp, Index: i, Scale: 4}, o)
	IMULQ(stride4, o)
	LEAQ(Mem{Base: wp, Index: o, Scale: 1}, p)
	VBROADCASTSS(Mem{Base: valp, Index: i, Scale: 4}, bv)
	for v := range acc {
		t := YMM()
		if v == nv-1 {
			VMASKMOVPS(Mem{Base: p, Disp: 32 * v}, mt, t)
			VMULPS(t, bv, t)
		} else {
			VMULPS(Mem{Base: p, Disp: 32 * v}, bv, t)
		}
		VADDPS(t, acc[v], acc[v])
	}
	INCQ(i)
	CMPQ(i, n)
	JLT(LabelRef("loop"))
	for v := range acc {
		if v == nv-1 {
			VMASKMOVPS(acc[v], mt, Mem{Base: zp, Disp: 32 * v})
		} else {
			VMOVUPS(acc[v], Mem{Base: zp, Disp: 32 * v})
		}
	}
	VZEROUPPER()
	RET()
}

func scatterDoc(name string, nv, lanes int) {
	Doc(fmt.Sprintf("%s is ScatterRows for d of up to %d columns: %d vectors, the", name, nv*lanes, nv),
		"last one masked to its first tail lanes; n ≥ 1 rows are updated. The rows",
		"g[idx[i]*stride:] should start 64-byte aligned and not overlap, so that",
		"their loads never wait for a partly overlapping store.",
		"",
		"\tfor i := 0; i < n; i++ {",
		"\t\tfor j := range d {",
		"\t\t\tg[int(idx[i])*stride+j] += float32(val[i] * d[j])",
		"\t\t}",
		"\t}")
}

const scatterSig = "func(grad *float32, stride int, idx *int32, val *float32, n int, d *float32, tail int)"

// scatterRows512 keeps d in registers and updates rows of g in memory.
func scatterRows512(nv int) {
	name := fmt.Sprintf("scatterRows512x%d", nv)
	TEXT(name, NOSPLIT, scatterSig)
	Pragma("noescape")
	scatterDoc(name, nv, 16)
	gp := loadGP("grad")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	offp := loadGP("idx")
	valp := loadGP("val")
	n := loadGP("n")
	dp := loadGP("d")
	kt := K()
	laneMask(loadGP("tail"), kt)
	dv := make([]VecVirtual, nv)
	for v := range dv {
		dv[v] = ZMM()
		if v == nv-1 {
			VMOVUPS_Z(Mem{Base: dp, Disp: 64 * v}, kt, dv[v])
		} else {
			VMOVUPS(Mem{Base: dp, Disp: 64 * v}, dv[v])
		}
	}
	i, o := GP64(), GP64()
	XORQ(i, i)
	Label("loop")
	MOVLQSX(Mem{Base: offp, Index: i, Scale: 4}, o)
	IMULQ(stride4, o)
	ADDQ(gp, o)
	for v := range dv {
		t := ZMM()
		VMULPS_BCST(Mem{Base: valp, Index: i, Scale: 4}, dv[v], t)
		if v == nv-1 {
			g := ZMM()
			VMOVUPS_Z(Mem{Base: o, Disp: 64 * v}, kt, g)
			VADDPS(t, g, g)
			VMOVUPS(g, kt, Mem{Base: o, Disp: 64 * v})
		} else {
			VADDPS(Mem{Base: o, Disp: 64 * v}, t, t)
			VMOVUPS(t, Mem{Base: o, Disp: 64 * v})
		}
	}
	INCQ(i)
	CMPQ(i, n)
	JLT(LabelRef("loop"))
	VZEROUPPER()
	RET()
}

// scatterBatch512 is scatterRows512x1 for every row of a batch in one call.
func scatterBatch512() {
	TEXT("scatterBatch512", NOSPLIT, "func(grad *float32, stride int, idx *int32, val *float32, start *int, rows int, dz *float32, u int)")
	Pragma("noescape")
	Doc("scatterBatch512 is ScatterRows for each of rows ≥ 1 rows r of a batch, u ≤ 16:",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tfor i := start[r]; i < start[r+1]; i++ {",
		"\t\t\tfor j := 0; j < u; j++ {",
		"\t\t\t\tg[int(idx[i])*stride+j] += float32(val[i] * dz[r*u+j])",
		"\t\t\t}",
		"\t\t}",
		"\t}")
	gp := loadGP("grad")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	offp := loadGP("idx")
	valp := loadGP("val")
	sp := loadGP("start")
	dp := loadGP("dz")
	u := loadGP("u")
	kt := K()
	laneMask(u, kt)
	SHLQ(U8(2), u) // row bytes of dz
	r, i, end, o := GP64(), GP64(), GP64(), GP64()
	XORQ(r, r)
	d := ZMM()
	Label("row")
	VMOVUPS_Z(Mem{Base: dp}, kt, d)
	MOVQ(Mem{Base: sp, Index: r, Scale: 8}, i)
	MOVQ(Mem{Base: sp, Index: r, Scale: 8, Disp: 8}, end)
	CMPQ(i, end)
	JGE(LabelRef("next"))
	Label("loop")
	MOVLQSX(Mem{Base: offp, Index: i, Scale: 4}, o)
	IMULQ(stride4, o)
	ADDQ(gp, o)
	t, g := ZMM(), ZMM()
	VMULPS_BCST(Mem{Base: valp, Index: i, Scale: 4}, d, t)
	VMOVUPS_Z(Mem{Base: o}, kt, g)
	VADDPS(t, g, g)
	VMOVUPS(g, kt, Mem{Base: o})
	INCQ(i)
	CMPQ(i, end)
	JLT(LabelRef("loop"))
	Label("next")
	ADDQ(u, dp)
	INCQ(r)
	CMPQ(r, paramAddr("rows"))
	JLT(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// scatterRows256 is scatterRows512 with YMM vectors and VMASKMOVPS tails.
func scatterRows256(nv int) {
	name := fmt.Sprintf("scatterRows256x%d", nv)
	TEXT(name, NOSPLIT, scatterSig)
	Pragma("noescape")
	scatterDoc(name, nv, 8)
	gp := loadGP("grad")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	offp := loadGP("idx")
	valp := loadGP("val")
	n := loadGP("n")
	dp := loadGP("d")
	mt := loadTailMask256(loadGP("tail"))
	dv := make([]VecVirtual, nv)
	for v := range dv {
		dv[v] = YMM()
		if v == nv-1 {
			VMASKMOVPS(Mem{Base: dp, Disp: 32 * v}, mt, dv[v])
		} else {
			VMOVUPS(Mem{Base: dp, Disp: 32 * v}, dv[v])
		}
	}
	i, o := GP64(), GP64()
	XORQ(i, i)
	bv := YMM()
	Label("loop")
	MOVLQSX(Mem{Base: offp, Index: i, Scale: 4}, o)
	IMULQ(stride4, o)
	ADDQ(gp, o)
	VBROADCASTSS(Mem{Base: valp, Index: i, Scale: 4}, bv)
	for v := range dv {
		t := YMM()
		VMULPS(dv[v], bv, t)
		if v == nv-1 {
			g := YMM()
			VMASKMOVPS(Mem{Base: o, Disp: 32 * v}, mt, g)
			VADDPS(t, g, g)
			VMASKMOVPS(g, mt, Mem{Base: o, Disp: 32 * v})
		} else {
			VADDPS(Mem{Base: o, Disp: 32 * v}, t, t)
			VMOVUPS(t, Mem{Base: o, Disp: 32 * v})
		}
	}
	INCQ(i)
	CMPQ(i, n)
	JLT(LabelRef("loop"))
	VZEROUPPER()
	RET()
}

func copyDoc(name string, lanes int) {
	Doc(fmt.Sprintf("%s copies rows ≥ 1 rows of width 1..%d between strided layouts and,", name, lanes),
		"if clear is not 0, zeroes the copied values in src:",
		"",
		"\tfor r := 0; r < rows; r++ {",
		"\t\tcopy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:])",
		"\t\tif clear != 0 {",
		"\t\t\tclear(src[r*srcStride : r*srcStride+width])",
		"\t\t}",
		"\t}")
}

const copySig = "func(dst *float32, dstStride int, src *float32, srcStride int, rows int, width int, clear int)"

func copyRows512() {
	TEXT("copyRows512", NOSPLIT, copySig)
	Pragma("noescape")
	copyDoc("copyRows512", 16)
	dp := loadGP("dst")
	ds := loadGP("dstStride")
	SHLQ(U8(2), ds)
	sp := loadGP("src")
	ss := loadGP("srcStride")
	SHLQ(U8(2), ss)
	rows := loadGP("rows")
	kt := K()
	laneMask(loadGP("width"), kt)
	v, z := ZMM(), ZMM()
	VPXORD(z, z, z)
	cl := loadGP("clear")
	TESTQ(cl, cl)
	JNZ(LabelRef("clearloop"))
	Label("loop")
	VMOVUPS_Z(Mem{Base: sp}, kt, v)
	VMOVUPS(v, kt, Mem{Base: dp})
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(rows)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
	Label("clearloop")
	VMOVUPS_Z(Mem{Base: sp}, kt, v)
	VMOVUPS(v, kt, Mem{Base: dp})
	VMOVUPS(z, kt, Mem{Base: sp})
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(rows)
	JNZ(LabelRef("clearloop"))
	VZEROUPPER()
	RET()
}

// copyRows256 copies rows of up to 16 values: a whole vector, if width > 8,
// and a masked one.
func copyRows256() {
	TEXT("copyRows256", NOSPLIT, copySig)
	Pragma("noescape")
	copyDoc("copyRows256", 16)
	dp := loadGP("dst")
	ds := loadGP("dstStride")
	SHLQ(U8(2), ds)
	sp := loadGP("src")
	ss := loadGP("srcStride")
	SHLQ(U8(2), ss)
	rows := loadGP("rows")
	width := loadGP("width")
	v, v1, z := YMM(), YMM(), YMM()
	VXORPS(z, z, z)
	cl := loadGP("clear")
	CMPQ(width, U8(8))
	JG(LabelRef("two"))
	mt := loadTailMask256(width)
	TESTQ(cl, cl)
	JNZ(LabelRef("clearloop"))
	Label("loop")
	VMASKMOVPS(Mem{Base: sp}, mt, v)
	VMASKMOVPS(v, mt, Mem{Base: dp})
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(rows)
	JNZ(LabelRef("loop"))
	VZEROUPPER()
	RET()
	Label("clearloop")
	VMASKMOVPS(Mem{Base: sp}, mt, v)
	VMASKMOVPS(v, mt, Mem{Base: dp})
	VMASKMOVPS(z, mt, Mem{Base: sp})
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(rows)
	JNZ(LabelRef("clearloop"))
	VZEROUPPER()
	RET()
	// 9 to 16 values: a whole vector and a masked one.
	Label("two")
	SUBQ(U8(8), width)
	m2 := loadTailMask256(width)
	TESTQ(cl, cl)
	JNZ(LabelRef("clearloop2"))
	Label("loop2")
	VMOVUPS(Mem{Base: sp}, v)
	VMASKMOVPS(Mem{Base: sp, Disp: 32}, m2, v1)
	VMOVUPS(v, Mem{Base: dp})
	VMASKMOVPS(v1, m2, Mem{Base: dp, Disp: 32})
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(rows)
	JNZ(LabelRef("loop2"))
	VZEROUPPER()
	RET()
	Label("clearloop2")
	VMOVUPS(Mem{Base: sp}, v)
	VMASKMOVPS(Mem{Base: sp, Disp: 32}, m2, v1)
	VMOVUPS(v, Mem{Base: dp})
	VMASKMOVPS(v1, m2, Mem{Base: dp, Disp: 32})
	VMOVUPS(z, Mem{Base: sp})
	VMASKMOVPS(z, m2, Mem{Base: sp, Disp: 32})
	ADDQ(ss, sp)
	ADDQ(ds, dp)
	DECQ(rows)
	JNZ(LabelRef("clearloop2"))
	VZEROUPPER()
	RET()
}

// scatterBatch256 is scatterRows256 for every row of a batch in one call,
// as scatterBatch512.
// scatterBatch256 is ScatterBatch on AVX2. With whole (rows of g with room
// for nv whole vectors), only dz's last vector is loaded masked, and g's
// rows are read and written whole: the lanes beyond u receive x·0, so g's
// padding stays zero for finite x. VMASKMOVPS stores are microcoded on AMD
// CPUs: on the Zen 5 measured, the masked read-modify-write of each entry's
// last vector doubled the seed workload's weight gradient.
func scatterBatch256(nv int, whole bool) {
	name := fmt.Sprintf("scatterBatch256x%d", nv)
	if whole {
		name += "whole"
	}
	TEXT(name, NOSPLIT, "func(grad *float32, stride int, idx *int32, val *float32, start *int, rows int, dz *float32, u int, tail int)")
	Pragma("noescape")
	if whole {
		Doc(fmt.Sprintf("%s is scatterBatch512 on AVX2 for u ≤ %d: %d vectors, dz's last one", name, 8*nv, nv),
			"masked to its first tail lanes; g's rows are updated whole (lanes ≥ u get x·0).")
	} else {
		Doc(fmt.Sprintf("%s is scatterBatch512 on AVX2 for u ≤ %d: %d vectors, the last one", name, 8*nv, nv),
			"masked to its first tail lanes.")
	}
	gp := loadGP("grad")
	stride4 := loadGP("stride")
	SHLQ(U8(2), stride4)
	offp := loadGP("idx")
	valp := loadGP("val")
	sp := loadGP("start")
	dp := loadGP("dz")
	u := loadGP("u")
	SHLQ(U8(2), u) // row bytes of dz
	mt := loadTailMask256(loadGP("tail"))
	r, i, end, o := GP64(), GP64(), GP64(), GP64()
	XORQ(r, r)
	dv := make([]VecVirtual, nv)
	for v := range dv {
		dv[v] = YMM()
	}
	Label("row")
	MOVQ(Mem{Base: sp, Index: r, Scale: 8}, i)
	MOVQ(Mem{Base: sp, Index: r, Scale: 8, Disp: 8}, end)
	CMPQ(i, end)
	JGE(LabelRef("next"))
	for v := range dv {
		if v == nv-1 {
			VMASKMOVPS(Mem{Base: dp, Disp: 32 * v}, mt, dv[v])
		} else {
			VMOVUPS(Mem{Base: dp, Disp: 32 * v}, dv[v])
		}
	}
	Label("loop")
	MOVLQSX(Mem{Base: offp, Index: i, Scale: 4}, o)
	IMULQ(stride4, o)
	ADDQ(gp, o)
	bv := YMM()
	VBROADCASTSS(Mem{Base: valp, Index: i, Scale: 4}, bv)
	for v := range dv {
		t := YMM()
		VMULPS(dv[v], bv, t)
		if v == nv-1 && !whole {
			g := YMM()
			VMASKMOVPS(Mem{Base: o, Disp: 32 * v}, mt, g)
			VADDPS(t, g, g)
			VMASKMOVPS(g, mt, Mem{Base: o, Disp: 32 * v})
		} else {
			VADDPS(Mem{Base: o, Disp: 32 * v}, t, t)
			VMOVUPS(t, Mem{Base: o, Disp: 32 * v})
		}
	}
	INCQ(i)
	CMPQ(i, end)
	JLT(LabelRef("loop"))
	Label("next")
	ADDQ(u, dp)
	INCQ(r)
	CMPQ(r, paramAddr("rows"))
	JLT(LabelRef("row"))
	VZEROUPPER()
	RET()
}

func gradDoc(name string, nv, lanes int) {
	Doc(fmt.Sprintf("%s is GradRows for one block of up to %d columns (%d vectors, the", name, nv*lanes, nv),
		"last masked to its first tail lanes) and one 64-row word of the mask: g, w and dz point at",
		"the block, x and dz at the word's first row, bits not in last are ignored;",
		"kn values of k from the pointers (a range of k when g, x and mask point at its first).",
		"If accum is 0 the sums start from +0, else from g (the previous word's",
		"partial sums, which are exact float32 values).",
		"",
		"\tfor k := 0; k < kn; k++ { // x's rows are in apart",
		"\t\tacc := g[k*u : k*u+block] if accum, else zeros",
		"\t\tfor m := mask[k] & last; m != 0; m &= m - 1 {",
		"\t\t\tr := bits.TrailingZeros64(m)",
		"\t\t\tfor j := range acc {",
		"\t\t\t\tacc[j] += float32(x[r*in+k] * dz[r*u+j])",
		"\t\t\t}",
		"\t\t}",
		"\t\tg[k*u : k*u+block] = acc",
		"\t}")
}

const gradSig = "func(grad *float32, x *float32, in int, dz *float32, u int, mask *uint64, last uint64, accum int, tail int, kn int)"

// gradRows512 walks k, and for each k the rows whose bit is set.
func gradRows512(nv int) {
	name := fmt.Sprintf("gradRows512x%d", nv)
	TEXT(name, NOSPLIT, gradSig)
	Pragma("noescape")
	gradDoc(name, nv, 16)
	gp := loadGP("grad")
	xk := loadGP("x") // &x[k] as k advances
	dz := loadGP("dz")
	in4 := loadGP("in")
	SHLQ(U8(2), in4)
	u4 := loadGP("u")
	SHLQ(U8(2), u4)
	mp := loadGP("mask")
	mend := loadGP("kn")
	SHLQ(U8(3), mend)
	ADDQ(mp, mend) // &mask[kn]
	ko := GP64()   // k*u*4
	XORQ(ko, ko)
	kt := K()
	laneMask(loadGP("tail"), kt)
	acc := make([]VecVirtual, nv)
	for v := range acc {
		acc[v] = ZMM()
	}
	m, r, t := GP64(), GP64(), GP64()
	xb := ZMM()

	Label("kloop")
	CMPQ(mp, mend)
	JGE(LabelRef("done"))
	CMPQ(paramAddr("accum"), U8(0))
	JNE(LabelRef("load"))
	for v := range acc {
		VPXORD(acc[v], acc[v], acc[v])
	}
	JMP(LabelRef("rows"))
	Label("load")
	for v := range acc {
		if v == nv-1 {
			VMOVUPS_Z(Mem{Base: gp, Index: ko, Scale: 1, Disp: 64 * v}, kt, acc[v])
		} else {
			VMOVUPS(Mem{Base: gp, Index: ko, Scale: 1, Disp: 64 * v}, acc[v])
		}
	}
	Label("rows")
	MOVQ(Mem{Base: mp}, m)
	ANDQ(paramAddr("last"), m)
	Label("bitloop")
	TESTQ(m, m)
	JZ(LabelRef("store"))
	TZCNTQ(m, r)
	BLSRQ(m, m)
	MOVQ(r, t)
	IMULQ(in4, t)
	VBROADCASTSS(Mem{Base: xk, Index: t, Scale: 1}, xb)
	IMULQ(u4, r)
	ADDQ(dz, r)
	for v := range acc {
		p := ZMM()
		if v == nv-1 {
			VMULPS_Z(Mem{Base: r, Disp: 64 * v}, xb, kt, p)
		} else {
			VMULPS(Mem{Base: r, Disp: 64 * v}, xb, p)
		}
		VADDPS(p, acc[v], acc[v])
	}
	JMP(LabelRef("bitloop"))

	Label("store")
	for v := range acc {
		if v == nv-1 {
			VMOVUPS(acc[v], kt, Mem{Base: gp, Index: ko, Scale: 1, Disp: 64 * v})
		} else {
			VMOVUPS(acc[v], Mem{Base: gp, Index: ko, Scale: 1, Disp: 64 * v})
		}
	}
	Label("next")
	ADDQ(U8(8), mp)
	ADDQ(U8(4), xk)
	ADDQ(u4, ko)
	JMP(LabelRef("kloop"))

	Label("done")
	VZEROUPPER()
	RET()
}

// accumCols512 is the k-major forward pass of a wide layer: row k of w is
// loaded once into registers and added into every output row r whose input
// x[r,k] is non-zero (bit r of mask[k]). Each z[r,j] still receives its
// terms in increasing k.
func accumCols512(nv int) {
	name := fmt.Sprintf("accumCols512x%d", nv)
	TEXT(name, NOSPLIT, "func(z *float32, w *float32, x *float32, in int, u int, mask *uint64, last uint64, tail int, kn int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is AccumCols for one block of up to %d columns (%d vectors, the", name, nv*16, nv),
		"last masked to its first tail lanes) and one 64-row word of the mask: z and w",
		"point at the block, x and z at the word's first row, bits not in last are ignored;",
		"kn values of k from the pointers (a range of k when w, x and mask point at its first).",
		"",
		"\tfor k := 0; k < kn; k++ { // x's rows are in apart",
		"\t\tfor m := mask[k] & last; m != 0; m &= m - 1 {",
		"\t\t\tr := bits.TrailingZeros64(m)",
		"\t\t\tfor j := range block {",
		"\t\t\t\tz[r*u+j] += float32(x[r*in+k] * w[k*u+j])",
		"\t\t\t}",
		"\t\t}",
		"\t}")
	zp, wk, xk, in4, u4, mp := colsArgs()
	mend := loadGP("kn")
	SHLQ(U8(3), mend)
	ADDQ(mp, mend) // &mask[kn]
	kt := K()
	laneMask(loadGP("tail"), kt)
	wv := make([]VecVirtual, nv)
	for v := range wv {
		wv[v] = ZMM()
	}
	m, r, t := GP64(), GP64(), GP64()
	xb := ZMM()
	Label("kloop")
	CMPQ(mp, mend)
	JGE(LabelRef("done"))
	MOVQ(Mem{Base: mp}, m)
	ANDQ(paramAddr("last"), m)
	JZ(LabelRef("next"))
	for v := range wv {
		if v == nv-1 {
			VMOVUPS_Z(Mem{Base: wk, Disp: 64 * v}, kt, wv[v])
		} else {
			VMOVUPS(Mem{Base: wk, Disp: 64 * v}, wv[v])
		}
	}
	Label("bitloop")
	TZCNTQ(m, r)
	BLSRQ(m, m)
	MOVQ(r, t)
	IMULQ(in4, t)
	VBROADCASTSS(Mem{Base: xk, Index: t, Scale: 1}, xb)
	IMULQ(u4, r)
	ADDQ(zp, r)
	for v := range wv {
		p, zv := ZMM(), ZMM()
		VMULPS(wv[v], xb, p)
		if v == nv-1 {
			VMOVUPS_Z(Mem{Base: r, Disp: 64 * v}, kt, zv)
			VADDPS(p, zv, zv)
			VMOVUPS(zv, kt, Mem{Base: r, Disp: 64 * v})
		} else {
			VADDPS(Mem{Base: r, Disp: 64 * v}, p, zv)
			VMOVUPS(zv, Mem{Base: r, Disp: 64 * v})
		}
	}
	TESTQ(m, m)
	JNZ(LabelRef("bitloop"))
	Label("next")
	ADDQ(U8(8), mp)
	ADDQ(U8(4), xk)
	ADDQ(u4, wk)
	JMP(LabelRef("kloop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// colsArgs loads the arguments accumCols512 and accumTile512 share: z, w
// (&w[k*u] as k advances), x (&x[k] as k advances), in and u in bytes,
// and mask.
func colsArgs() (zp, wk, xk, in4, u4, mp GPVirtual) {
	zp, wk, xk = loadGP("z"), loadGP("w"), loadGP("x")
	in4 = loadGP("in")
	SHLQ(U8(2), in4)
	u4 = loadGP("u")
	SHLQ(U8(2), u4)
	return zp, wk, xk, in4, u4, loadGP("mask")
}

// tileVec is the widest block of accumTile512, in vectors: 4 rows of
// tileVec accumulators, tileVec vectors of w, a product and a broadcast
// take 22 of the 32 registers.
const tileVec = 4

// accumTile512 is AccumCols for 4 rows whose inputs are mostly non-zero
// (computed features): the rows' sums stay in registers over every k,
// where accumCols512 loads and stores a row of z for each non-zero input,
// and a row whose input is zero skips the term by a masked add (merge
// masking keeps the sum), not by a branch, which such inputs would
// mispredict. Each z[r,j] still receives its terms in increasing k, from
// the same products.
func accumTile512(nv int) {
	name := fmt.Sprintf("accumTile512x%d", nv)
	TEXT(name, NOSPLIT, "func(z *float32, w *float32, x *float32, in int, u int, mask *uint64, shift int, tail int, kn int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is AccumCols for rows r … r+3 (z and x at row r, bits shift … shift+3 of", name),
		fmt.Sprintf("each mask word) and one block of up to %d columns (%d vectors, the last masked to", nv*16, nv),
		"its first tail lanes; z and w point at the block), for kn values of k from the pointers:",
		"",
		"\tfor k := 0; k < kn; k++ {",
		"\t\tfor i := 0; i < 4; i++ {",
		"\t\t\tif mask[k]>>(shift+i)&1 != 0 {",
		"\t\t\t\tfor j := range block {",
		"\t\t\t\t\tz[i*u+j] += float32(x[i*in+k] * w[k*u+j])",
		"\t\t\t\t}",
		"\t\t\t}",
		"\t\t}",
		"\t}")
	zp, wk, xk, in4, u4, mp := colsArgs()
	sh := GP64()
	MOVQ(paramAddr("shift"), sh)
	mend := loadGP("kn")
	SHLQ(U8(3), mend)
	ADDQ(mp, mend) // &mask[kn]
	kt := K()
	laneMask(loadGP("tail"), kt)
	acc := make([][]VecVirtual, 4)
	row := GP64() // &z[i*u]
	MOVQ(zp, row)
	for i := range acc {
		acc[i] = make([]VecVirtual, nv)
		for v := range acc[i] {
			acc[i][v] = ZMM()
			if v == nv-1 {
				VMOVUPS_Z(Mem{Base: row, Disp: 64 * v}, kt, acc[i][v])
			} else {
				VMOVUPS(Mem{Base: row, Disp: 64 * v}, acc[i][v])
			}
		}
		if i < 3 {
			ADDQ(u4, row)
		}
	}
	wv := make([]VecVirtual, nv)
	for v := range wv {
		wv[v] = ZMM()
	}
	m, t, xo := GP64(), GP64(), GP64()
	km := K()
	xb, p := ZMM(), ZMM()
	Label("kloop")
	CMPQ(mp, mend)
	JGE(LabelRef("done"))
	MOVQ(Mem{Base: mp}, m)
	SHRXQ(sh, m, m)
	ANDQ(U8(15), m)
	JZ(LabelRef("next")) // no row has this input
	for v := range wv {
		if v == nv-1 {
			VMOVUPS_Z(Mem{Base: wk, Disp: 64 * v}, kt, wv[v])
		} else {
			VMOVUPS(Mem{Base: wk, Disp: 64 * v}, wv[v])
		}
	}
	XORQ(xo, xo) // i*in*4
	for i := range acc {
		// km: every lane if row i's bit is set, else none.
		MOVQ(m, t)
		if i > 0 {
			SHRQ(U8(i), t)
		}
		ANDQ(U8(1), t)
		NEGQ(t)
		KMOVW(t.As32(), km)
		VBROADCASTSS(Mem{Base: xk, Index: xo, Scale: 1}, xb)
		for v := range acc[i] {
			VMULPS(wv[v], xb, p)
			VADDPS(p, acc[i][v], km, acc[i][v])
		}
		if i < 3 {
			ADDQ(in4, xo)
		}
	}
	Label("next")
	ADDQ(U8(8), mp)
	ADDQ(U8(4), xk)
	ADDQ(u4, wk)
	JMP(LabelRef("kloop"))
	Label("done")
	MOVQ(zp, row)
	for i := range acc {
		for v := range acc[i] {
			if v == nv-1 {
				VMOVUPS(acc[i][v], kt, Mem{Base: row, Disp: 64 * v})
			} else {
				VMOVUPS(acc[i][v], Mem{Base: row, Disp: 64 * v})
			}
		}
		if i < 3 {
			ADDQ(u4, row)
		}
	}
	VZEROUPPER()
	RET()
}

// gradRows256 is gradRows512 with YMM vectors and VMASKMOVPS tails.
func gradRows256(nv int) {
	name := fmt.Sprintf("gradRows256x%d", nv)
	TEXT(name, NOSPLIT, gradSig)
	Pragma("noescape")
	gradDoc(name, nv, 8)
	gp := loadGP("grad")
	xk := loadGP("x")
	dz := loadGP("dz")
	in4 := loadGP("in")
	SHLQ(U8(2), in4)
	u4 := loadGP("u")
	SHLQ(U8(2), u4)
	mp := loadGP("mask")
	mend := loadGP("kn")
	SHLQ(U8(3), mend)
	ADDQ(mp, mend) // &mask[kn]
	ko := GP64()
	XORQ(ko, ko)
	var mt VecVirtual
	{
		tl := loadGP("tail")
		mt = loadTailMask256(tl)
	}
	acc := make([]VecVirtual, nv)
	for v := range acc {
		acc[v] = YMM()
	}
	m, r, t := GP64(), GP64(), GP64()
	xb := YMM()

	Label("kloop")
	CMPQ(mp, mend)
	JGE(LabelRef("done"))
	CMPQ(paramAddr("accum"), U8(0))
	JNE(LabelRef("load"))
	for v := range acc {
		VXORPS(acc[v], acc[v], acc[v])
	}
	JMP(LabelRef("rows"))
	Label("load")
	for v := range acc {
		if v == nv-1 {
			VMASKMOVPS(Mem{Base: gp, Index: ko, Scale: 1, Disp: 32 * v}, mt, acc[v])
		} else {
			VMOVUPS(Mem{Base: gp, Index: ko, Scale: 1, Disp: 32 * v}, acc[v])
		}
	}
	Label("rows")
	MOVQ(Mem{Base: mp}, m)
	ANDQ(paramAddr("last"), m)
	Label("bitloop")
	TESTQ(m, m)
	JZ(LabelRef("store"))
	TZCNTQ(m, r)
	BLSRQ(m, m)
	MOVQ(r, t)
	IMULQ(in4, t)
	VBROADCASTSS(Mem{Base: xk, Index: t, Scale: 1}, xb)
	IMULQ(u4, r)
	ADDQ(dz, r)
	for v := range acc {
		p := YMM()
		if v == nv-1 {
			VMASKMOVPS(Mem{Base: r, Disp: 32 * v}, mt, p)
			VMULPS(p, xb, p)
		} else {
			VMULPS(Mem{Base: r, Disp: 32 * v}, xb, p)
		}
		VADDPS(p, acc[v], acc[v])
	}
	JMP(LabelRef("bitloop"))

	Label("store")
	for v := range acc {
		if v == nv-1 {
			VMASKMOVPS(acc[v], mt, Mem{Base: gp, Index: ko, Scale: 1, Disp: 32 * v})
		} else {
			VMOVUPS(acc[v], Mem{Base: gp, Index: ko, Scale: 1, Disp: 32 * v})
		}
	}
	Label("next")
	ADDQ(U8(8), mp)
	ADDQ(U8(4), xk)
	ADDQ(u4, ko)
	JMP(LabelRef("kloop"))

	Label("done")
	VZEROUPPER()
	RET()
}

// elementwise emits a loop over n elements (a multiple of lanes*unroll is
// not required: the caller passes n rounded down to a multiple of lanes)
// calling body(offset) for each vector.
func elementwise(n Register, lanes int, body func(i Register)) {
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	body(i)
	ADDQ(U32(lanes), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// elementwiseUnrolled is elementwise running unroll vectors an iteration,
// then single ones; body(i, d) does the vector at element i plus d.
// AVX2 kernels use it: a YMM does half a ZMM's work, so the loop's own
// instructions weigh twice as much.
func elementwiseUnrolled(n Register, lanes, unroll int, body func(i Register, d int)) {
	i, m := GP64(), GP64()
	XORQ(i, i)
	MOVQ(n, m)
	ANDQ(I32(-lanes*unroll), m)
	Label("uloop")
	CMPQ(i, m)
	JGE(LabelRef("loop"))
	for k := 0; k < unroll; k++ {
		body(i, lanes*k)
	}
	ADDQ(U32(lanes*unroll), i)
	JMP(LabelRef("uloop"))
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	body(i, 0)
	ADDQ(U32(lanes), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

func sgdDoc(name string, lanes int) {
	Doc(fmt.Sprintf("%s is SGD for n elements, n a multiple of %d:", name, lanes),
		"",
		"\tfor j := 0; j < n; j++ {",
		"\t\tw[j] -= float32(lr * g[j])",
		"\t}")
}

func sgd512() {
	TEXT("sgd512", NOSPLIT, "func(w *float32, grad *float32, n int, lr float32)")
	Pragma("noescape")
	sgdDoc("sgd512", 16)
	wp := loadGP("w")
	gp := loadGP("grad")
	n := loadGP("n")
	lr := ZMM()
	VBROADCASTSS(Load(Param("lr"), XMM()), lr)
	elementwise(n, 16, func(i Register) {
		p, w := ZMM(), ZMM()
		VMULPS(Mem{Base: gp, Index: i, Scale: 4}, lr, p)
		VMOVUPS(Mem{Base: wp, Index: i, Scale: 4}, w)
		VSUBPS(p, w, w)
		VMOVUPS(w, Mem{Base: wp, Index: i, Scale: 4})
	})
}

func sgd256() {
	TEXT("sgd256", NOSPLIT, "func(w *float32, grad *float32, n int, lr float32)")
	Pragma("noescape")
	sgdDoc("sgd256", 8)
	wp := loadGP("w")
	gp := loadGP("grad")
	n := loadGP("n")
	lr := YMM()
	VBROADCASTSS(Load(Param("lr"), XMM()), lr)
	elementwiseUnrolled(n, 8, 2, func(i Register, d int) {
		p, w := YMM(), YMM()
		VMULPS(Mem{Base: gp, Index: i, Scale: 4, Disp: 4 * d}, lr, p)
		VMOVUPS(Mem{Base: wp, Index: i, Scale: 4, Disp: 4 * d}, w)
		VSUBPS(p, w, w)
		VMOVUPS(w, Mem{Base: wp, Index: i, Scale: 4, Disp: 4 * d})
	})
}

func adamDoc(name string, lanes int) {
	Doc(fmt.Sprintf("%s is Adam for n elements, n a multiple of %d:", name, lanes),
		"",
		"\tfor j := 0; j < n; j++ {",
		"\t\tm[j] += float32((g[j] - m[j]) * c1)",
		"\t\tv[j] += float32((float32(g[j]*g[j]) - v[j]) * c2)",
		"\t\tw[j] -= float32(alpha*m[j]) / (sqrt32(v[j]) + eps)",
		"\t}")
}

// broadcastParam loads the float32 parameter p into every lane of a new
// vector.
func broadcastParam(p string, vec func() VecVirtual) VecVirtual {
	r := vec()
	VBROADCASTSS(Load(Param(p), XMM()), r)
	return r
}

const adamSig = "func(w *float32, grad *float32, m *float32, v *float32, n int, alpha float32, c1 float32, c2 float32, eps float32)"

func adam(name string, lanes int, vec func() VecVirtual) {
	TEXT(name, NOSPLIT, adamSig)
	Pragma("noescape")
	adamDoc(name, lanes)
	wp := loadGP("w")
	gp := loadGP("grad")
	mp := loadGP("m")
	vp := loadGP("v")
	n := loadGP("n")
	bc := func(p string) VecVirtual { return broadcastParam(p, vec) }
	alpha, c1, c2, eps := bc("alpha"), bc("c1"), bc("c2"), bc("eps")
	elementwise(n, lanes, func(i Register) {
		at := func(p Register) Mem { return Mem{Base: p, Index: i, Scale: 4} }
		g, m, v, w, t, s := vec(), vec(), vec(), vec(), vec(), vec()
		VMOVUPS(at(gp), g)
		VMOVUPS(at(mp), m)
		VMOVUPS(at(vp), v)
		VSUBPS(m, g, t) // g - m
		VMULPS(c1, t, t)
		VADDPS(t, m, m) // m + (g-m)*c1
		VMULPS(g, g, s)
		VSUBPS(v, s, s) // g*g - v
		VMULPS(c2, s, s)
		VADDPS(s, v, v) // v + (g*g-v)*c2
		VMOVUPS(m, at(mp))
		VMOVUPS(v, at(vp))
		VMULPS(m, alpha, t) // alpha*m
		VSQRTPS(v, s)
		VADDPS(eps, s, s)
		VDIVPS(s, t, t) // alpha*m / (sqrt(v)+eps)
		VMOVUPS(at(wp), w)
		VSUBPS(t, w, w)
		VMOVUPS(w, at(wp))
	})
}

func adam512() { adam("adam512", 16, func() VecVirtual { return ZMM() }) }

func rmspropDoc(name string, lanes int) {
	Doc(fmt.Sprintf("%s is RMSprop (no momentum, not centered) for n elements, n a multiple of %d,", name, lanes),
		"with c = 1 − rho:",
		"",
		"\tfor j := 0; j < n; j++ {",
		"\t\tr[j] = float32(rho*r[j]) + float32(float32(c*g[j])*g[j])",
		"\t\tw[j] -= float32(lr*g[j]) / sqrt32(r[j]+eps)",
		"\t}")
}

func rmsprop(name string, lanes int, vec func() VecVirtual) {
	TEXT(name, NOSPLIT, "func(w *float32, grad *float32, r *float32, n int, lr float32, rho float32, c float32, eps float32)")
	Pragma("noescape")
	rmspropDoc(name, lanes)
	wp := loadGP("w")
	gp := loadGP("grad")
	rp := loadGP("r")
	n := loadGP("n")
	bc := func(p string) VecVirtual { return broadcastParam(p, vec) }
	lr, rho, c, eps := bc("lr"), bc("rho"), bc("c"), bc("eps")
	elementwise(n, lanes, func(i Register) {
		at := func(p Register) Mem { return Mem{Base: p, Index: i, Scale: 4} }
		g, r, w, t, s := vec(), vec(), vec(), vec(), vec()
		VMOVUPS(at(gp), g)
		VMOVUPS(at(rp), r)
		VMULPS(r, rho, r) // rho*r
		VMULPS(g, c, t)   // c*g
		VMULPS(g, t, t)   // (c*g)*g
		VADDPS(t, r, r)   // rho*r + (c*g)*g
		VMOVUPS(r, at(rp))
		VADDPS(eps, r, s)
		VSQRTPS(s, s)    // sqrt(r+eps)
		VMULPS(g, lr, t) // lr*g
		VDIVPS(s, t, t)  // lr*g / sqrt(r+eps)
		VMOVUPS(at(wp), w)
		VSUBPS(t, w, w)
		VMOVUPS(w, at(wp))
	})
}

func rmsprop512() { rmsprop("rmsprop512", 16, func() VecVirtual { return ZMM() }) }
func rmsprop256() { rmsprop("rmsprop256", 8, func() VecVirtual { return YMM() }) }
func adam256()    { adam("adam256", 8, func() VecVirtual { return YMM() }) }

func u8Doc(name string, lanes int, lut bool) {
	body := "\t\tdst[j] = float32(src[j])"
	what := "U8ToF32"
	if lut {
		body = "\t\tdst[j] = lut[src[j]]"
		what = "U8Lookup"
	}
	Doc(fmt.Sprintf("%s is %s for n bytes, n a multiple of %d:", name, what, lanes),
		"",
		"\tfor j := 0; j < n; j++ {",
		body,
		"\t}")
}

func u8ToF32512() {
	TEXT("u8ToF32512", NOSPLIT, "func(dst *float32, src *uint8, n int)")
	Pragma("noescape")
	u8Doc("u8ToF32512", 16, false)
	dp := loadGP("dst")
	sp := loadGP("src")
	n := loadGP("n")
	elementwise(n, 16, func(i Register) {
		v := ZMM()
		VPMOVZXBD(Mem{Base: sp, Index: i, Scale: 1}, v)
		VCVTDQ2PS(v, v)
		VMOVUPS(v, Mem{Base: dp, Index: i, Scale: 4})
	})
}

func u8ToF32256() {
	TEXT("u8ToF32256", NOSPLIT, "func(dst *float32, src *uint8, n int)")
	Pragma("noescape")
	u8Doc("u8ToF32256", 8, false)
	dp := loadGP("dst")
	sp := loadGP("src")
	n := loadGP("n")
	elementwiseUnrolled(n, 8, 4, func(i Register, d int) {
		v := YMM()
		VPMOVZXBD(Mem{Base: sp, Index: i, Scale: 1, Disp: d}, v)
		VCVTDQ2PS(v, v)
		VMOVUPS(v, Mem{Base: dp, Index: i, Scale: 4, Disp: 4 * d})
	})
}

func u8Lookup512() {
	TEXT("u8Lookup512", NOSPLIT, "func(dst *float32, src *uint8, n int, lut *[256]float32)")
	Pragma("noescape")
	u8Doc("u8Lookup512", 16, true)
	dp := loadGP("dst")
	sp := loadGP("src")
	n := loadGP("n")
	lut := loadGP("lut")
	zero := ZMM()
	VBROADCASTSS(Mem{Base: lut}, zero) // lut[0]
	// Only the lanes with a non-zero byte are gathered (gathers cost by the
	// lane); the others take lut[0]. A chunk of zeros costs one store.
	elementwise(n, 16, func(i Register) {
		ix, v := ZMM(), ZMM()
		k := K()
		VPMOVZXBD(Mem{Base: sp, Index: i, Scale: 1}, ix)
		VPTESTMD(ix, ix, k)
		VMOVAPS(zero, v)
		KORTESTW(k, k)
		JZ(LabelRef("store"))
		VGATHERDPS(Mem{Base: lut, Index: ix, Scale: 4}, k, v)
		Label("store")
		VMOVUPS(v, Mem{Base: dp, Index: i, Scale: 4})
	})
}

func u8Lookup256() {
	TEXT("u8Lookup256", NOSPLIT, "func(dst *float32, src *uint8, n int, lut *[256]float32)")
	Pragma("noescape")
	u8Doc("u8Lookup256", 8, true)
	dp := loadGP("dst")
	sp := loadGP("src")
	n := loadGP("n")
	lut := loadGP("lut")
	elementwise(n, 8, func(i Register) {
		ix, v, m := YMM(), YMM(), YMM()
		VPMOVZXBD(Mem{Base: sp, Index: i, Scale: 1}, ix)
		VPCMPEQD(m, m, m)
		VGATHERDPS(m, Mem{Base: lut, Index: ix, Scale: 4}, v)
		VMOVUPS(v, Mem{Base: dp, Index: i, Scale: 4})
	})
}

// prefetch issues PREFETCHT0 for every cache line of n ≥ 1 bytes at p.
// transpose512 copies a matrix into its transpose a column of src at a
// time: a gather of 16 rows' values of column j makes 16 consecutive
// values of row j of dst.
func transpose512() {
	TEXT("transpose512", NOSPLIT, "func(dst *float32, ldDst int, src *float32, ldSrc int, rows int, cols int)")
	Pragma("noescape")
	Doc("transpose512 sets dst[j*ldDst+i] = src[i*ldSrc+j] for i < rows and j < cols (both ≥ 1),",
		"16 values of a column at a time by a gather.")
	dst := loadGP("dst")
	ldd := loadGP("ldDst")
	SHLQ(U8(2), ldd)
	src := loadGP("src")
	lds := loadGP("ldSrc")
	rows := loadGP("rows")
	idx, ls := ZMM(), ZMM()
	VMOVDQU32(iota32, idx)
	VPBROADCASTD(lds.As32(), ls)
	VPMULLD(ls, idx, idx) // 0, ldSrc, 2·ldSrc, …: the rows' offsets
	SHLQ(U8(6), lds)      // 16 rows of src, in bytes
	kt, kg := K(), K()
	n, j, sj, dj := GP64(), GP64(), GP64(), GP64()
	g := ZMM()
	Label("rows")
	TESTQ(rows, rows)
	JLE(LabelRef("done"))
	MOVQ(rows, n)
	CMPQ(n, U8(16))
	JLE(LabelRef("tail"))
	MOVQ(U32(16), n)
	Label("tail")
	laneMask(n, kt)
	MOVQ(paramAddr("cols"), j)
	MOVQ(src, sj)
	MOVQ(dst, dj)
	Label("cols")
	KMOVW(kt, kg) // the gather clears its mask
	VPXORD(g, g, g)
	VGATHERDPS(Mem{Base: sj, Index: idx, Scale: 4}, kg, g)
	VMOVUPS(g, kt, Mem{Base: dj})
	ADDQ(U8(4), sj)
	ADDQ(ldd, dj)
	DECQ(j)
	JNZ(LabelRef("cols"))
	ADDQ(lds, src)
	ADDQ(U8(64), dst)
	SUBQ(U8(16), rows)
	JMP(LabelRef("rows"))
	Label("done")
	VZEROUPPER()
	RET()
}

func prefetch() {
	TEXT("prefetch", NOSPLIT, "func(p *byte, n int)")
	Pragma("noescape")
	Doc("prefetch asks for the cache lines holding p[0:n] (n ≥ 1) to be loaded",
		"into all cache levels; it has no effect on results. Lines are 64 bytes.")
	p := loadGP("p")
	n := loadGP("n")
	end := GP64()
	LEAQ(Mem{Base: p, Index: n, Scale: 1, Disp: -1}, end)
	ANDQ(I32(-64), p)
	Label("loop")
	PREFETCHT0(Mem{Base: p})
	ADDQ(U8(64), p)
	CMPQ(p, end)
	JLE(LabelRef("loop"))
	RET()
}

// The constants of Go's math.Exp for amd64 (src/math/exp_amd64.s), parsed
// from the same decimal literals as the Go assembler parses them.
func f64(lit string) float64 {
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		panic(err)
	}
	return v
}

var expConsts = []struct {
	name string
	v    float64
}{
	{"log2e", f64("1.4426950408889634073599246810018920")},
	{"ln2u", f64("0.69314718055966295651160180568695068359375")},
	{"ln2l", f64("0.28235290563031577122588448175013436025525412068e-12")},
	{"overflow", f64("7.09782712893384e+02")},
	{"sixteenth", 0.0625},
	{"c8", f64("2.4801587301587301587e-5")},
	{"c7", f64("1.9841269841269841270e-4")},
	{"c6", f64("1.3888888888888888889e-3")},
	{"c5", f64("8.3333333333333333333e-3")},
	{"c4", f64("4.1666666666666666667e-2")},
	{"c3", f64("1.6666666666666666667e-1")},
	{"half", 0.5},
	{"one", 1.0},
	{"two", 2.0},
	{"two52", 1 << 52},
	{"minnormal", 0x1p-1022},
}

var expData Mem

// expConst returns the address of the named constant in expData.
func expConst(name string) Mem {
	for i, c := range expConsts {
		if c.name == name {
			return expData.Offset(8 * i)
		}
	}
	panic(name)
}

func expDoc(name string, lanes int, fma bool) {
	variant := "the non-FMA"
	if fma {
		variant = "the FMA"
	}
	Doc(fmt.Sprintf("%s computes math.Exp for n (1..%d) float64 values with %s", name, lanes, variant),
		"variant of Go's amd64 math.Exp (Shibata's method: x = k·ln2 + r,",
		"a Taylor polynomial in r/16 squared four times, then ·2^k), the same",
		"operations in the same order, lane by lane, including the scalings of its",
		"subnormal and underflow path. It returns a bit mask of the lanes it did",
		"not finish: NaN, x above the overflow threshold and infinite results; the",
		"caller recomputes those with math.Exp.")
}

// expCore evaluates the reduced polynomial on x (in place) given f = k as
// float64, with the vector constructor and broadcast constants.
func expCore(x, f VecVirtual, vec func() VecVirtual, bc func(string) Op, fma bool) {
	if fma {
		VFNMADD231PD(bc("ln2u"), f, x) // x -= f·ln2u, fused
		VFNMADD231PD(bc("ln2l"), f, x)
	} else {
		t := vec()
		VMULPD(bc("ln2u"), f, t)
		VSUBPD(t, x, x)
		VMULPD(bc("ln2l"), f, t)
		VSUBPD(t, x, x)
	}
	VMULPD(bc("sixteenth"), x, x)
	p, ok := bc("c8").(VecVirtual)
	if !ok { // a memory operand
		p = vec()
		VMOVUPD(bc("c8"), p)
	}
	for _, c := range []string{"c7", "c6", "c5", "c4", "c3", "half", "one"} {
		if fma {
			VFMADD213PD(bc(c), x, p) // p = p·x + c, fused
		} else {
			VMULPD(x, p, p)
			VADDPD(bc(c), p, p)
		}
	}
	VMULPD(p, x, x)
	two := bc("two")
	for i := 0; i < 4; i++ {
		VADDPD(two, x, p) // p = x + 2
		if fma && i == 3 {
			VFMADD213PD(bc("one"), p, x) // x = x·p + 1, fused
		} else {
			VMULPD(p, x, x)
		}
	}
	if !fma {
		VADDPD(bc("one"), x, x)
	}
}

func exp512(fma bool) {
	name := "exp512"
	if fma {
		name = "expFMA512"
	}
	expData512()
	TEXT(name, NOSPLIT, "func(dst *float64, x *float64, n int) uint64")
	Pragma("noescape")
	expDoc(name, 8, fma)
	dp := loadGP("dst")
	xp := loadGP("x")
	kin := K()
	laneMask(loadGP("n"), kin)
	x := ZMM()
	VMOVUPD_Z(Mem{Base: xp}, kin, x)
	kbad := K()
	r := expVec512(x, kin, kbad, fma)
	VMOVUPD(r, kin, Mem{Base: dp})
	ret := GP64()
	KMOVB(kbad, ret.As32())
	Store(ret, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// expData512 emits the constants once.
func expData512() {
	if expData.Symbol.Name == "" {
		expData = GLOBL("expdata", RODATA|NOPTR)
		for i, c := range expConsts {
			DATA(8*i, U64(math.Float64bits(c.v))) // bits: avo prints 1.0 as an integer
		}
	}
}

var expLabel int

// expVec512 returns exp(x) for the lanes of kin, with Go's math.Exp
// operations, and sets kbad to the lanes left to math.Exp (x is clobbered).
func expVec512(x VecVirtual, kin, kbad Register, fma bool) VecVirtual {
	expLabel++
	nodenormal := fmt.Sprintf("nodenormal%d", expLabel)
	bc := func(c string) VecVirtual {
		r := ZMM()
		VBROADCASTSD(expConst(c), r)
		return r
	}
	vec := func() VecVirtual { return ZMM() }
	kt := K()
	VCMPPD(U8(6), bc("overflow"), x, kin, kbad) // !(x <= overflow): NaN, +Inf, too big
	t := ZMM()
	VMULPD(bc("log2e"), x, t)
	k := YMM()
	VCVTPD2DQ(t, k) // round to nearest, like CVTSD2SL
	f := ZMM()
	VCVTDQ2PD(k, f)
	expCore(x, f, vec, func(c string) Op { return bc(c) }, fma)
	bc32 := func(v int32) VecVirtual {
		g := GP64()
		MOVQ(I32(v), g)
		y := YMM()
		VPBROADCASTD(g.As32(), y)
		return y
	}
	VPADDD(bc32(0x3ff), k, k)              // biased exponent
	VPCMPD(U8(5), bc32(0x7ff), k, kin, kt) // ≥ 0x7ff: infinite result
	KORB(kt, kbad, kbad)
	// Normal results: x·2^k. Lanes whose result is taken from elsewhere get
	// a clamped exponent and x = 1, so that they compute normal numbers
	// (subnormal results cost microcode assists).
	kn := YMM()
	VPMAXSD(bc32(1), k, kn)
	VPMINSD(bc32(0x7fe), kn, kn)
	sc, r := ZMM(), ZMM()
	VPMOVSXDQ(kn, sc)
	VPSLLQ(U8(52), sc, sc)
	klow := K()
	VPCMPD(U8(2), bc32(0), k, kin, klow) // ≤ 0: result taken from below
	xn := ZMM()
	VMOVAPD(x, xn)
	VMOVAPD(bc("one"), klow, xn) // 1·2^−1022 there: a normal number
	VMULPD(sc, xn, r)
	// Biased exponent in [−52, 0] (math.Exp's denormal path):
	// x·2^(k+0x3fe−0x3ff)·2^−1022; below −52 the result is +0.
	kden, kund, kge := K(), K(), K()
	VPCMPD(U8(2), bc32(0), k, kin, kden)  // ≤ 0
	VPCMPD(U8(5), bc32(-52), k, kin, kge) // ≥ −52
	KANDB(kge, kden, kden)
	VPCMPD(U8(1), bc32(-52), k, kin, kund) // < −52
	KORTESTB(kden, kden)
	JZ(LabelRef(nodenormal))
	// math.Exp computes y = x·2^(k−1), normal, then y·2^−1022, which rounds
	// to the subnormal grid (multiples of 2^−1074): the result's bits are the
	// integer RNE(y·2^52). VCVTPD2QQ rounds x·2^(k+51) to that integer
	// exactly (round to nearest even), with no subnormal arithmetic, whose
	// microcode assists cost far more.
	kd := YMM()
	VPMAXSD(bc32(-52), k, kd)
	VPMINSD(bc32(0), kd, kd)
	VPADDD(bc32(0x3ff+51), kd, kd)
	VPMOVSXDQ(kd, sc)
	VPSLLQ(U8(52), sc, sc) // 2^(k+51), normal
	VMULPD(sc, x, x)       // exact: a power-of-two scaling of a normal number
	q := ZMM()
	VCVTPD2QQ(x, q)
	VMOVDQA64(q, kden, r) // merge: only the denormal lanes
	Label(nodenormal)
	VPXORQ(sc, sc, sc)
	VMOVAPD(sc, kund, r)
	return r
}

// expSum512 is the body of losses' logSumExp for one row of up to 16
// logits: e_j = exp(float64(z_j − m)), s = Σ e_j in order, and, if p is not
// nil, p_j = float32(float64(float32(e_j)) · (1/s)). The sum reloads the
// e_j from a stack copy one by one (measured faster than extracting lanes
// from the registers, which lengthens the chain of dependent additions).
func expSum512(fma bool) {
	name := "expSum512"
	if fma {
		name = "expSumFMA512"
	}
	expData512()
	TEXT(name, NOSPLIT, "func(p *float32, z *float32, n int, m float32) (s float64, bad uint64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is ExpSum for n = 1..16 values, with %s math.Exp:", name, map[bool]string{true: "the FMA", false: "the non-FMA"}[fma]),
		"",
		"\tvar s float64",
		"\tfor j, v := range z[:n] {",
		"\t\te[j] = math.Exp(float64(v - m))",
		"\t\ts += e[j]",
		"\t}",
		"\tif p != nil {",
		"\t\tinv := 1 / s",
		"\t\tfor j := range z[:n] {",
		"\t\t\tp[j] = float32(float64(float32(e[j])) * inv)",
		"\t\t}",
		"\t}",
		"",
		"It returns the lanes that math.Exp must redo (see exp512) as bad; then s",
		"and p are not valid.")
	pp := loadGP("p")
	zp := loadGP("z")
	n := loadGP("n")
	mv := YMM()
	VBROADCASTSS(Load(Param("m"), XMM()), mv)
	bad := GP64()
	XORQ(bad, bad)
	e := [2]VecVirtual{ZMM(), ZMM()}
	kins := [2]Register{K(), K()}
	scratch := AllocLocal(128)
	for h := 0; h < 2; h++ {
		rem := GP64()
		MOVQ(n, rem)
		if h == 1 {
			VPXORQ(e[1], e[1], e[1])
			SUBQ(U8(8), rem)
			JLE(LabelRef("sum"))
		}
		CMPQ(rem, U8(8))
		JLE(LabelRef(fmt.Sprintf("lanes%d", h)))
		MOVQ(U32(8), rem)
		Label(fmt.Sprintf("lanes%d", h))
		kin := kins[h]
		laneMask(rem, kin)
		zf := YMM()
		VMOVUPS_Z(Mem{Base: zp, Disp: 32 * h}, kin, zf)
		VSUBPS(mv, zf, zf) // v − m in float32
		x := ZMM()
		VCVTPS2PD(zf, x)
		kbad := K()
		r := expVec512(x, kin, kbad, fma)
		VMOVAPD_Z(r, kin, e[h]) // unused lanes: +0
		VMOVUPD(e[h], scratch.Offset(64*h))
		b := GP64()
		KMOVB(kbad, b.As32())
		if h == 1 {
			SHLQ(U8(8), b)
		}
		ORQ(b, bad)
	}
	Label("sum")
	Store(bad, ReturnIndex(1))
	TESTQ(bad, bad)
	JNZ(LabelRef("done"))
	// s = ((0 + e0) + e1) + ..., in order.
	sum := XMM()
	XORPD(sum, sum)
	j := GP64()
	XORQ(j, j)
	Label("add")
	ADDSD(scratch.Idx(j, 8), sum)
	INCQ(j)
	CMPQ(j, n)
	JLT(LabelRef("add"))
	Store(sum, ReturnIndex(0))
	TESTQ(pp, pp)
	JZ(LabelRef("done"))
	inv := XMM()
	one := GP64()
	MOVQ(U64(math.Float64bits(1)), one)
	MOVQ(one, inv)
	DIVSD(sum, inv)
	invv := ZMM()
	VBROADCASTSD(inv, invv)
	minNormal := ZMM()
	{
		g := GP64()
		MOVQ(U64(1<<52), g)
		VPBROADCASTQ(g, minNormal)
	}
	for h := 0; h < 2; h++ {
		if h == 1 {
			CMPQ(n, U8(8))
			JLE(LabelRef("done"))
		}
		ev := e[h]
		// float32 of a subnormal float64 is +0; set those lanes to 0 first
		// (same result, without a microcode assist in the conversion).
		ktiny := K()
		VCMPPD(U8(1), minNormal, ev, ktiny) // e < 2^−1022
		VXORPD(ev, ev, ktiny, ev)
		pf := YMM()
		VCVTPD2PS(ev, pf) // float32(e)
		VCVTPS2PD(pf, ev) // float64(float32(e))
		VMULPD(invv, ev, ev)
		VCVTPD2PS(ev, pf)
		VMOVUPS(pf, kins[h], Mem{Base: pp, Disp: 32 * h})
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// exp256 loops over n values, 4 a vector, and stores only the lanes it
// finished, so that the caller can redo the others from x even when dst is
// x.
func exp256(fma bool) {
	name := "exp256"
	if fma {
		name = "expFMA256"
	}
	expData512()
	TEXT(name, NOSPLIT, "func(dst *float64, x *float64, n int) uint64")
	Pragma("noescape")
	variant := "the non-FMA"
	if fma {
		variant = "the FMA"
	}
	Doc(fmt.Sprintf("%s computes math.Exp for n (1..64) float64 values with %s", name, variant),
		"variant of Go's amd64 math.Exp, 4 at a time, as exp512 does (subnormal and",
		"zero results included). It returns a bit mask of the values it did not",
		"finish (NaN, x above the overflow threshold, infinite results) and leaves",
		"their dst untouched, so the caller can recompute them with math.Exp from",
		"x even if dst is x.")
	dp := loadGP("dst")
	xp := loadGP("x")
	n := loadGP("n")
	bad, i, rem, lm, b, keep, j := GP64(), GP64(), GP64(), GP64(), GP64(), GP64(), GP64()
	XORQ(bad, bad)
	XORQ(i, i)
	scratch := AllocLocal(32)
	x := YMM()
	Label("loop")
	MOVQ(n, rem)
	SUBQ(i, rem)
	JLE(LabelRef("done"))
	CMPQ(rem, U8(4))
	JL(LabelRef("tail"))
	VMOVUPD(Mem{Base: xp, Index: i, Scale: 8}, x)
	JMP(LabelRef("compute"))
	Label("tail")
	VMASKMOVPD(Mem{Base: xp, Index: i, Scale: 8}, tailMask64(rem), x)
	Label("compute")
	r := expVec256(x, b, fma, expBranch)
	MOVQ(U32(15), lm)
	CMPQ(rem, U8(4))
	JGE(LabelRef("full"))
	MOVQ(I32(-1), lm)
	BZHIQ(rem, lm, lm)
	Label("full")
	ANDQ(lm, b)
	MOVQ(lm, keep)
	ANDNQ(keep, b, keep) // keep = lm &^ b  (ANDN: ^b & keep)
	SHLXQ(i, b, b)
	ORQ(b, bad)
	CMPQ(keep, U8(15))
	JNE(LabelRef("partial"))
	VMOVUPD(r, Mem{Base: dp, Index: i, Scale: 8})
	ADDQ(U8(4), i)
	JMP(LabelRef("loop"))
	// Some lanes are not to be stored: copy the others one by one.
	Label("partial")
	VMOVUPD(r, scratch)
	Label("lane")
	TESTQ(keep, keep)
	JZ(LabelRef("next"))
	TZCNTQ(keep, j)
	BLSRQ(keep, keep)
	v := XMM()
	MOVSD(scratch.Idx(j, 8), v)
	ADDQ(i, j)
	MOVSD(v, Mem{Base: dp, Index: j, Scale: 8})
	JMP(LabelRef("lane"))
	Label("next")
	ADDQ(U8(4), i)
	JMP(LabelRef("loop"))
	Label("done")
	Store(bad, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// tailMask64 loads an AVX2 mask of the first n (1..4) int64 lanes,
// widened from the int32 tail table.
func tailMask64(n Register) VecVirtual {
	t, p := GP64(), GP64()
	MOVQ(U32(8), t)
	SUBQ(n, t)
	LEAQ(tailMask, p)
	m32 := XMM()
	VMOVDQU(Mem{Base: p, Index: t, Scale: 4}, m32)
	m := YMM()
	VPMOVSXDQ(m32, m)
	return m
}

// expVec256 is expVec512 for 4 lanes on AVX2: it returns exp(x) with Go's
// math.Exp operations and sets bad to the bits of the lanes left to
// math.Exp (x is clobbered). AVX2 has no VCVTPD2QQ: the subnormal results'
// integer RNE(v), 0 ≤ v ≤ 2^52, is taken from the bits of v + 2^52, which
// the addition rounds to an integer exactly so (its unit in the last place
// is 1, and adding the even 2^52 keeps ties to even).
//
// With branch, the subnormal path is skipped when no lane needs it.
func expVec256(x VecVirtual, bad GPVirtual, fma, branch bool) VecVirtual {
	expLabel++
	nodenormal := fmt.Sprintf("nodenormal%d", expLabel)
	expData256()
	bc := func(c string) Op { return exp256Const(c) } // whole vectors: memory operands
	vec := func() VecVirtual { return YMM() }
	c := YMM()
	VCMPPD(U8(6), bc("overflow"), x, c) // !(x <= overflow): NaN, +Inf, too big
	VMOVMSKPD(c, bad.As32())
	t := YMM()
	VMULPD(bc("log2e"), x, t)
	k := XMM()
	VCVTPD2DQY(t, k) // round to nearest, like CVTSD2SL
	f := YMM()
	VCVTDQ2PD(k, f)
	expCore(x, f, vec, bc, fma)
	VPADDD(exp256Int(0x3ff), k, k) // biased exponent
	cmp := XMM()
	r := GP64()
	VPCMPGTD(exp256Int(0x7fe), k, cmp) // ≥ 0x7ff: infinite result
	VMOVMSKPS(cmp, r.As32())
	ORQ(r, bad)
	// Normal results: x·2^k; the lanes whose result is taken from
	// elsewhere compute 1·2^−1022 instead, a normal number.
	kn := XMM()
	VPMAXSD(exp256Int(1), k, kn)
	VPMINSD(exp256Int(0x7fe), kn, kn)
	sc := YMM()
	VPMOVSXDQ(kn, sc)
	VPSLLQ(U8(52), sc, sc)
	pos := XMM()
	VPCMPGTD(exp256Int(0), k, pos) // k > 0: a normal result
	posq := YMM()
	VPMOVSXDQ(pos, posq)
	xn := YMM()
	VMOVUPD(bc("one"), xn)
	VBLENDVPD(posq, x, xn, xn) // k > 0 ? x : 1
	res := YMM()
	VMULPD(sc, xn, res)
	if branch {
		VMOVMSKPS(pos, r.As32())
		CMPQ(r, U8(15))
		JE(LabelRef(nodenormal))
	}
	// Biased exponent in [−52, 0]: the result's bits are RNE(x·2^(k+51));
	// below −52 the result is +0.
	kd := XMM()
	VPMAXSD(exp256Int(-52), k, kd)
	VPMINSD(exp256Int(0), kd, kd)
	VPADDD(exp256Int(0x3ff+51), kd, kd)
	VPMOVSXDQ(kd, sc)
	VPSLLQ(U8(52), sc, sc)    // 2^(k+51), normal
	VMULPD(sc, x, x)          // exact: a power-of-two scaling of a normal number
	VADDPD(bc("two52"), x, x) // 2^52 + RNE(v)
	VPSUBQ(bc("two52"), x, x) // RNE(v), the subnormal's bits
	VBLENDVPD(posq, res, x, res)
	keep := XMM()
	VPCMPGTD(exp256Int(-53), k, keep) // k ≥ −52
	keepq := YMM()
	VPMOVSXDQ(keep, keepq)
	VANDPD(keepq, res, res) // +0 below
	if branch {
		Label(nodenormal)
	}
	return res
}

// expBranch and expSumBranch choose whether exp256 and expSum256 skip the
// subnormal path, by a branch, when no lane needs it. Exp on softmax
// arguments rarely needs it (the branch made it 1.2 times faster); ExpSum
// on the seed workload's raw-pixel logits, whose gaps are wide, often does,
// at unpredictable lanes.
const expBranch, expSumBranch = true, false

// exp256Data holds expConsts as 4-lane vectors (32 bytes each), then
// exp256Ints as 4-lane int32 vectors (16 bytes each), so that the AVX2 exp
// takes them as memory operands (AVX2 has no embedded broadcast).
var exp256Data Mem

var exp256Ints = []int32{0, 1, 0x3ff, 0x7fe, -52, -53, 0x3ff + 51}

func expData256() {
	if exp256Data.Symbol.Name != "" {
		return
	}
	exp256Data = GLOBL("exp256data", RODATA|NOPTR)
	for i, c := range expConsts {
		for l := 0; l < 4; l++ {
			DATA(32*i+8*l, U64(math.Float64bits(c.v)))
		}
	}
	base := 32 * len(expConsts)
	for i, v := range exp256Ints {
		for l := 0; l < 4; l++ {
			DATA(base+16*i+4*l, U32(uint32(v)))
		}
	}
}

func exp256Const(name string) Mem {
	for i, c := range expConsts {
		if c.name == name {
			return exp256Data.Offset(32 * i)
		}
	}
	panic(name)
}

func exp256Int(v int32) Mem {
	for i, w := range exp256Ints {
		if w == v {
			return exp256Data.Offset(32*len(expConsts) + 16*i)
		}
	}
	panic(v)
}

// expSum256 is expSum512 on AVX2: 4 values a vector, up to 4 vectors.
func expSum256(fma bool) {
	name := "expSum256"
	if fma {
		name = "expSumFMA256"
	}
	expData512()
	TEXT(name, NOSPLIT, "func(p *float32, z *float32, n int, m float32) (s float64, bad uint64)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is expSum512 on AVX2 (n = 1..16, %s math.Exp).", name, map[bool]string{true: "the FMA", false: "the non-FMA"}[fma]))
	pp := loadGP("p")
	zp := loadGP("z")
	n := loadGP("n")
	mv := XMM()
	VBROADCASTSS(Load(Param("m"), XMM()), mv)
	bad := GP64()
	XORQ(bad, bad)
	scratch := AllocLocal(128)
	for h := 0; h < 4; h++ {
		rem := GP64()
		MOVQ(n, rem)
		if h > 0 {
			SUBQ(U8(4*h), rem)
			JLE(LabelRef("sum"))
		}
		zf := XMM()
		CMPQ(rem, U8(4))
		JL(LabelRef(fmt.Sprintf("part%d", h)))
		VMOVUPS(Mem{Base: zp, Disp: 16 * h}, zf)
		JMP(LabelRef(fmt.Sprintf("loaded%d", h)))
		Label(fmt.Sprintf("part%d", h))
		VMASKMOVPS(Mem{Base: zp, Disp: 16 * h}, loadTailMask128(rem), zf)
		Label(fmt.Sprintf("loaded%d", h))
		VSUBPS(mv, zf, zf) // v − m in float32
		x := YMM()
		VCVTPS2PD(zf, x)
		b := GP64()
		r := expVec256(x, b, fma, expSumBranch)
		VMOVUPD(r, scratch.Offset(32*h))
		if h > 0 {
			SHLQ(U8(4*h), b)
		}
		ORQ(b, bad)
	}
	Label("sum")
	BZHIQ(n, bad, bad) // lanes past n are not values
	Store(bad, ReturnIndex(1))
	TESTQ(bad, bad)
	JNZ(LabelRef("done"))
	// s = ((0 + e0) + e1) + ..., in order.
	sum := XMM()
	XORPD(sum, sum)
	j := GP64()
	XORQ(j, j)
	Label("add")
	ADDSD(scratch.Idx(j, 8), sum)
	INCQ(j)
	CMPQ(j, n)
	JLT(LabelRef("add"))
	Store(sum, ReturnIndex(0))
	TESTQ(pp, pp)
	JZ(LabelRef("done"))
	inv := XMM()
	one := GP64()
	MOVQ(U64(math.Float64bits(1)), one)
	MOVQ(one, inv)
	DIVSD(sum, inv)
	invv := YMM()
	VBROADCASTSD(inv, invv)
	minNormal := YMM()
	VBROADCASTSD(expConst("minnormal"), minNormal)
	for h := 0; h < 4; h++ {
		rem := GP64()
		MOVQ(n, rem)
		if h > 0 {
			SUBQ(U8(4*h), rem)
			JLE(LabelRef("done"))
		}
		ev, tiny := YMM(), YMM()
		VMOVUPD(scratch.Offset(32*h), ev)
		// float32 of a subnormal float64 is +0; set those lanes to 0 first
		// (same result, without a microcode assist in the conversion).
		VCMPPD(U8(1), minNormal, ev, tiny) // e < 2^−1022
		VANDNPD(ev, tiny, ev)
		pf := XMM()
		VCVTPD2PSY(ev, pf) // float32(e)
		VCVTPS2PD(pf, ev)  // float64(float32(e))
		VMULPD(invv, ev, ev)
		VCVTPD2PSY(ev, pf)
		CMPQ(rem, U8(4))
		JL(LabelRef(fmt.Sprintf("ppart%d", h)))
		VMOVUPS(pf, Mem{Base: pp, Disp: 16 * h})
		JMP(LabelRef(fmt.Sprintf("pnext%d", h)))
		Label(fmt.Sprintf("ppart%d", h))
		VMASKMOVPS(pf, loadTailMask128(rem), Mem{Base: pp, Disp: 16 * h})
		Label(fmt.Sprintf("pnext%d", h))
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// prefetchRows issues PREFETCHT0 for every cache line of the rows idx of
// an array of rows of rowBytes bytes at base.
func prefetchRows() {
	TEXT("prefetchRows", NOSPLIT, "func(base *byte, rowBytes int, idx *int, n int)")
	Pragma("noescape")
	Doc("prefetchRows is prefetch for each of the n ≥ 1 rows base[idx[i]*rowBytes:][:rowBytes],",
		"rowBytes ≥ 1; it has no effect on results.")
	bp := loadGP("base")
	rb := loadGP("rowBytes")
	ip := loadGP("idx")
	n := loadGP("n")
	i, p, end := GP64(), GP64(), GP64()
	XORQ(i, i)
	Label("row")
	MOVQ(Mem{Base: ip, Index: i, Scale: 8}, p)
	IMULQ(rb, p)
	ADDQ(bp, p)
	LEAQ(Mem{Base: p, Index: rb, Scale: 1, Disp: -1}, end)
	ANDQ(I32(-64), p)
	Label("line")
	PREFETCHT0(Mem{Base: p})
	ADDQ(U8(64), p)
	CMPQ(p, end)
	JLE(LabelRef("line"))
	INCQ(i)
	CMPQ(i, n)
	JLT(LabelRef("row"))
	RET()
}

func relu(wide bool) {
	name, lanes := "relu256", 8
	if wide {
		name, lanes = "relu512", 16
	}
	TEXT(name, NOSPLIT, "func(dst *float32, x *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is Relu for n elements, n a multiple of %d: VMAXPS(x, +0)", name, lanes),
		"returns x when x > 0 and +0 otherwise (NaN and -0 included), as the loop:",
		"",
		"\tfor j := 0; j < n; j++ {",
		"\t\tif x[j] > 0 {",
		"\t\t\tdst[j] = x[j]",
		"\t\t} else {",
		"\t\t\tdst[j] = 0",
		"\t\t}",
		"\t}")
	dp := loadGP("dst")
	xp := loadGP("x")
	n := loadGP("n")
	vec := YMM
	if wide {
		vec = ZMM
	}
	zero := vec()
	VXORPS(zero, zero, zero)
	if !wide {
		elementwiseUnrolled(n, lanes, 4, func(i Register, d int) {
			v := vec()
			VMOVUPS(Mem{Base: xp, Index: i, Scale: 4, Disp: 4 * d}, v)
			VMAXPS(zero, v, v)
			VMOVUPS(v, Mem{Base: dp, Index: i, Scale: 4, Disp: 4 * d})
		})
		return
	}
	elementwise(n, lanes, func(i Register) {
		v := vec()
		VMOVUPS(Mem{Base: xp, Index: i, Scale: 4}, v)
		VMAXPS(zero, v, v) // v > +0 ? v : +0
		VMOVUPS(v, Mem{Base: dp, Index: i, Scale: 4})
	})
}

func reluGrad(wide bool) {
	name, lanes := "reluGrad256", 8
	if wide {
		name, lanes = "reluGrad512", 16
	}
	TEXT(name, NOSPLIT, "func(dx *float32, y *float32, dy *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is ReluGrad for n elements, n a multiple of %d:", name, lanes),
		"",
		"\tfor j := 0; j < n; j++ {",
		"\t\tif y[j] > 0 {",
		"\t\t\tdx[j] = dy[j]",
		"\t\t} else {",
		"\t\t\tdx[j] = 0",
		"\t\t}",
		"\t}")
	dxp := loadGP("dx")
	yp := loadGP("y")
	dyp := loadGP("dy")
	n := loadGP("n")
	if wide {
		zero := ZMM()
		VXORPS(zero, zero, zero)
		elementwise(n, lanes, func(i Register) {
			k := K()
			v := ZMM()
			VCMPPS(U8(0x11), Mem{Base: yp, Index: i, Scale: 4}, zero, k) // LT_OQ: 0 < y
			VMOVUPS_Z(Mem{Base: dyp, Index: i, Scale: 4}, k, v)
			VMOVUPS(v, Mem{Base: dxp, Index: i, Scale: 4})
		})
		return
	}
	zero := YMM()
	VXORPS(zero, zero, zero)
	elementwiseUnrolled(n, lanes, 4, func(i Register, d int) {
		m, v := YMM(), YMM()
		VCMPPS(U8(0x11), Mem{Base: yp, Index: i, Scale: 4, Disp: 4 * d}, zero, m) // LT_OQ: 0 < y
		VANDPS(Mem{Base: dyp, Index: i, Scale: 4, Disp: 4 * d}, m, v)
		VMOVUPS(v, Mem{Base: dxp, Index: i, Scale: 4, Disp: 4 * d})
	})
}
