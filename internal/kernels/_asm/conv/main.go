// Command conv generates kiln's amd64 convolution and max-pooling kernels
// (../../conv_amd64.s, ../../conv_stubs_amd64.go and the dispatch switches
// in ../../conv_dispatch_amd64.go) with avo. Run it through go generate in
// internal/kernels:
//
//	go generate ./internal/kernels
//
// Like ../gen.go, every kernel performs the float32 operations of the
// pure-Go reference (../../conv.go) in the same order, multiplying and
// adding separately (never an FMA), with vectors across independent output
// elements (filters, channels) only, so results are bit-identical to it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var dispatch = flag.String("dispatch", "", "write the Go dispatch switches to this file")

var (
	tailMask Mem // 8 × int32 -1 then 8 × 0: load at (8-n)*4 for an n-lane mask

	// byteMasks holds, for each byte b, eight int32 lanes: lane i all ones
	// if bit i of b is set, else 0 (8 KB, an AVX2 relu mask's lanes).
	byteMasks Mem
)

// isa describes one instruction-set level: its vector width and how a
// vector register, a lane mask and masked loads and stores are made.
type isa struct {
	wide  bool // AVX-512 (else AVX2)
	lanes int
	vsize int // bytes per vector
	regs  int // vector registers
}

var (
	avx512 = isa{wide: true, lanes: 16, vsize: 64, regs: 32}
	avx2   = isa{wide: false, lanes: 8, vsize: 32, regs: 16}
)

func (s isa) suffix() string {
	if s.wide {
		return "512"
	}
	return "256"
}

func (s isa) vec() VecVirtual {
	if s.wide {
		return ZMM()
	}
	return YMM()
}

// mask is a lane mask: a K register (AVX-512) or a vector of all-ones
// lanes (AVX2).
type mask struct {
	s   isa
	k   Register
	v   VecVirtual
	mem Mem // AVX2, if v is nil: where the vector is kept (one register less)
}

// tailMaskLocal is tailMaskOf for AVX2 kept in a local, loaded into a
// register only for each masked load and store.
func (s isa) tailMaskLocal(n Register) mask {
	m := s.tailMaskOf(n)
	if s.wide {
		return m
	}
	l := AllocLocal(32)
	VMOVDQU(m.v, l)
	return mask{s: s, mem: l}
}

// vreg returns the AVX2 mask's vector register, loading it if it is kept
// in memory.
func (m *mask) vreg() VecVirtual {
	if m.v != nil {
		return m.v
	}
	v := YMM()
	VMOVDQU(m.mem, v)
	return v
}

// tailMaskOf makes the mask of the low n lanes (1 ≤ n ≤ lanes).
func (s isa) tailMaskOf(n Register) mask {
	if s.wide {
		k := K()
		ones, tm := GP64(), GP64()
		MOVQ(I32(-1), ones)
		BZHIQ(n, ones, tm)
		KMOVW(tm.As32(), k)
		return mask{s: s, k: k}
	}
	m := YMM()
	t := GP64()
	MOVQ(U32(8), t)
	SUBQ(n, t)
	p := GP64()
	LEAQ(tailMask, p)
	VMOVDQU(Mem{Base: p, Index: t, Scale: 4}, m)
	return mask{s: s, v: m}
}

// load loads a vector, only the mask's lanes if m is not nil (the others
// are zeroed and not read).
func (s isa) load(src Mem, dst VecVirtual, m *mask) {
	switch {
	case m == nil:
		VMOVUPS(src, dst)
	case s.wide:
		VMOVUPS_Z(src, m.k, dst)
	default:
		VMASKMOVPS(src, m.vreg(), dst)
	}
}

// store stores a vector, only the mask's lanes if m is not nil.
func (s isa) store(src VecVirtual, dst Mem, m *mask) {
	switch {
	case m == nil:
		VMOVUPS(src, dst)
	case s.wide:
		VMOVUPS(src, m.k, dst)
	default:
		VMASKMOVPS(src, m.vreg(), dst)
	}
}

// last returns m for the last of nv vectors, nil for the others.
func last(v, nv int, m mask) *mask {
	if v == nv-1 {
		return &m
	}
	return nil
}

func loadGP(name string) GPVirtual {
	r := GP64()
	Load(Param(name), r)
	return r
}

func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// Register budgets. fwdTile is the number of output pixels the forward
// kernel computes at once (tile × nv accumulators); gradKB the most kernel
// rows the gradient kernel keeps in registers (kb × nv accumulators).
// On AVX2 with nv = 2, 6 pixels take 12 accumulators, and the kernel row's
// 2 vectors, a broadcast and a product the other 4 (the masked variant's
// tail mask fits because the last product reuses the row's register): 4
// pixels left the kernel 10% slower.
func fwdTile(s isa, nv int) int {
	if !s.wide && nv == 2 {
		return 6
	}
	return 8
}

// gradPtrRegs is how many kernel rows' pointers convGrad keeps in general
// registers (the loop needs four more: pix, dz, m and pix[q]).
const gradPtrRegs = 9

// On AVX2, kb·nv accumulators, nv bias sums, nv dz vectors, a broadcast
// and a product take the 16 registers (the tail mask stays in memory).
func gradKB(s isa, nv int) int {
	switch {
	case s.wide && nv == 1:
		return 24
	case s.wide:
		return 12
	case nv == 1:
		return 12
	}
	return 5
}

func main() {
	flag.Parse()
	ConstraintExpr("!purego")

	tailMask = GLOBL("convtailmask", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}

	byteMasks = GLOBL("convbytemasks", RODATA|NOPTR)
	for b := 0; b < 256; b++ {
		for i := 0; i < 8; i++ {
			v := uint32(0)
			if b>>i&1 == 1 {
				v = 0xffffffff
			}
			DATA(32*b+4*i, U32(v))
		}
	}

	for _, s := range []isa{avx512, avx2} {
		for _, full := range []bool{false, true} {
			for nv := 1; nv <= 2; nv++ {
				convFwd(s, nv, full)
			}
			for nv := 1; nv <= 2; nv++ {
				for kb := 1; kb <= gradKB(s, nv); kb++ {
					convGrad(s, nv, kb, full)
				}
			}
		}
		maxPool(s)
		maxPoolGrad(s)
		for _, nc := range poolCells {
			for _, bytes := range []bool{false, true} {
				maxPoolN(s, nc, bytes)
				maxPoolGradN(s, nc, bytes)
			}
		}
	}
	Generate()
	if *dispatch != "" {
		writeDispatch(*dispatch)
	}
}

const fwdSig = "func(z *float32, y *float32, m *uint8, ms int, x *float32, pix *int32, n int, koff *int32, k int, w *float32, f int, bias *float32, tail int, mode int)"

// variant names a kernel variant: the full ones use whole vectors only
// (masked loads and stores are slow even when every lane is set).
func variant(name string, full bool) string {
	if full {
		return name + "full"
	}
	return name
}

// tailDoc describes the last vector of a block.
func tailDoc(full bool) string {
	if full {
		return "all of them whole"
	}
	return "the last masked to its first tail lanes"
}

// convFwd is ConvForward for one block of filters (nv vectors, the last
// masked to tail lanes unless full): tiles of output pixels keep their
// accumulators in registers while the kernel rows stream past.
func convFwd(s isa, nv int, full bool) {
	name := variant(fmt.Sprintf("convFwd%sx%d", s.suffix(), nv), full)
	P := fwdTile(s, nv)
	TEXT(name, NOSPLIT, fwdSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is ConvForward for one block of up to %d filters (%d vectors,", name, nv*s.lanes, nv),
		tailDoc(full)+"): z, y, w and bias point at the block,",
		"rows are f floats apart; mode bit 0 stores z, bit 1 stores relu into y, bit 2",
		"adds the bias, bit 3 stores the mask bits s > 0 (bit j of m[q*ms+j/8], m at the",
		fmt.Sprintf("block). Pixels are computed %d at a time.", P),
		"",
		"\tfor q := 0; q < n; q++ {",
		"\t\tfor j := range block {",
		"\t\t\ts := bias[j] // or +0",
		"\t\t\tfor kk := 0; kk < k; kk++ {",
		"\t\t\t\ts += float32(x[pix[q]+koff[kk]] * w[kk*f+j])",
		"\t\t\t}",
		"\t\t\tz[q*f+j] = s; y[q*f+j] = s > 0 ? s : +0; bit j of m[q*ms:] = s > 0",
		"\t\t}",
		"\t}")
	var tm mask
	if !full {
		tm = s.tailMaskOf(loadGP("tail"))
	}
	lm := func(v int) *mask {
		if full {
			return nil
		}
		return last(v, nv, tm)
	}
	f4 := AllocLocal(8)
	{
		t := loadGP("f")
		SHLQ(U8(2), t)
		MOVQ(t, f4)
	}
	kend := AllocLocal(8) // &koff[k]
	{
		kp, k := loadGP("koff"), loadGP("k")
		LEAQ(Mem{Base: kp, Index: k, Scale: 4}, kp)
		MOVQ(kp, kend)
	}
	q := GP64()
	XORQ(q, q)

	tile := func(P int, sfx string) {
		pixp, xp := loadGP("pix"), loadGP("x")
		bases := make([]GPVirtual, P)
		for p := range bases {
			t := GP64()
			MOVLQSX(Mem{Base: pixp, Index: q, Scale: 4, Disp: 4 * p}, t)
			bases[p] = GP64()
			LEAQ(Mem{Base: xp, Index: t, Scale: 4}, bases[p])
		}
		acc := make([][]VecVirtual, P)
		for p := range acc {
			acc[p] = make([]VecVirtual, nv)
			for v := range acc[p] {
				acc[p][v] = s.vec()
			}
		}
		TESTQ(U32(4), paramAddr("mode"))
		JZ(LabelRef("nobias" + sfx))
		bp := loadGP("bias")
		for v := 0; v < nv; v++ {
			s.load(Mem{Base: bp, Disp: s.vsize * v}, acc[0][v], lm(v))
			for p := 1; p < P; p++ {
				VMOVAPS(acc[0][v], acc[p][v])
			}
		}
		JMP(LabelRef("kinit" + sfx))
		Label("nobias" + sfx)
		for p := range acc {
			for v := range acc[p] {
				VXORPS(acc[p][v], acc[p][v], acc[p][v])
			}
		}
		Label("kinit" + sfx)
		wp, kp := loadGP("w"), loadGP("koff")
		Label("kloop" + sfx)
		o := GP64()
		MOVLQSX(Mem{Base: kp}, o)
		wv := make([]VecVirtual, nv)
		for v := range wv {
			wv[v] = s.vec()
			s.load(Mem{Base: wp, Disp: s.vsize * v}, wv[v], lm(v))
		}
		for p := 0; p < P; p++ {
			b := s.vec()
			VBROADCASTSS(Mem{Base: bases[p], Index: o, Scale: 4}, b)
			for v := 0; v < nv; v++ {
				t := s.vec()
				VMULPS(wv[v], b, t)
				VADDPS(t, acc[p][v], acc[p][v])
			}
		}
		ADDQ(f4, wp)
		ADDQ(U8(4), kp)
		CMPQ(kp, kend)
		JLT(LabelRef("kloop" + sfx))

		// Store rows q … q+P-1.
		row := GP64()
		MOVQ(q, row)
		IMULQ(f4, row)
		TESTQ(U32(1), paramAddr("mode"))
		JZ(LabelRef("noz" + sfx))
		zp := loadGP("z")
		ADDQ(row, zp)
		for p := 0; p < P; p++ {
			for v := 0; v < nv; v++ {
				s.store(acc[p][v], Mem{Base: zp, Disp: s.vsize * v}, lm(v))
			}
			if p < P-1 {
				ADDQ(f4, zp)
			}
		}
		Label("noz" + sfx)
		TESTQ(U32(2), paramAddr("mode"))
		JZ(LabelRef("noy" + sfx))
		yp := loadGP("y")
		ADDQ(row, yp)
		zero := s.vec()
		VXORPS(zero, zero, zero)
		for p := 0; p < P; p++ {
			for v := 0; v < nv; v++ {
				VMAXPS(zero, acc[p][v], acc[p][v]) // acc > +0 ? acc : +0 (NaN, -0 give +0)
				s.store(acc[p][v], Mem{Base: yp, Disp: s.vsize * v}, lm(v))
			}
			if p < P-1 {
				ADDQ(f4, yp)
			}
		}
		Label("noy" + sfx)
		TESTQ(U32(8), paramAddr("mode"))
		JZ(LabelRef("nom" + sfx))
		{
			mp := GP64()
			MOVQ(q, mp)
			IMULQ(paramAddr("ms"), mp)
			ADDQ(paramAddr("m"), mp)
			zero := s.vec()
			VXORPS(zero, zero, zero)
			for p := 0; p < P; p++ {
				for v := 0; v < nv; v++ {
					if s.wide {
						k := K()
						VCMPPS(U8(0x1e), zero, acc[p][v], k) // GT_OQ: s > 0
						KMOVW(k, Mem{Base: mp, Disp: 2 * v})
					} else {
						c, b := YMM(), GP64()
						VCMPPS(U8(0x1e), zero, acc[p][v], c)
						VMOVMSKPS(c, b.As32())
						MOVB(b.As8(), Mem{Base: mp, Disp: v})
					}
				}
				if p < P-1 {
					ADDQ(paramAddr("ms"), mp)
				}
			}
		}
		Label("nom" + sfx)
	}

	Label("tiles")
	{
		rest := loadGP("n")
		SUBQ(q, rest)
		CMPQ(rest, U8(P))
		JLT(LabelRef("singles"))
	}
	tile(P, "t")
	ADDQ(U8(P), q)
	JMP(LabelRef("tiles"))

	Label("singles")
	CMPQ(q, paramAddr("n"))
	JGE(LabelRef("done"))
	tile(1, "s")
	INCQ(q)
	JMP(LabelRef("singles"))

	Label("done")
	VZEROUPPER()
	RET()
}

const gradSig = "func(grad *float32, gb *float32, x *float32, pix *int32, n int, koff *int32, dz *float32, m *uint8, ms int, f int, tail int)"

// convGrad is ConvGrad for kb kernel rows and one block of filters (nv
// vectors): the kb·nv gradient vectors and the bias's nv stay in registers
// while the pixels stream past.
func convGrad(s isa, nv, kb int, full bool) {
	name := variant(fmt.Sprintf("convGrad%sx%dk%d", s.suffix(), nv, kb), full)
	TEXT(name, NOSPLIT, gradSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("%s is ConvGrad for %d kernel rows and one block of up to %d", name, kb, nv*s.lanes),
		fmt.Sprintf("filters (%d vectors, %s): g, gb, dz and m", nv, tailDoc(full)),
		"point at the block, rows are f floats (m: ms bytes) apart; gb and m may be nil;",
		"n ≥ 1.",
		"",
		"\tfor q := 0; q < n; q++ {",
		"\t\tfor j := range block {",
		"\t\t\td := dz[q*f+j]",
		"\t\t\tif m != nil && m[q*ms+j/8]>>(j%8)&1 == 0 {",
		"\t\t\t\td = 0",
		"\t\t\t}",
		"\t\t\tgb[j] += d // if gb != nil",
		fmt.Sprintf("\t\t\tfor kk := 0; kk < %d; kk++ {", kb),
		"\t\t\t\tg[kk*f+j] += float32(x[pix[q]+koff[kk]] * d)",
		"\t\t\t}",
		"\t\t}",
		"\t}")
	var tm mask
	if !full {
		tm = s.tailMaskLocal(loadGP("tail"))
	}
	lm := func(v int) *mask {
		if full {
			return nil
		}
		return last(v, nv, tm)
	}
	f4 := AllocLocal(8)
	{
		t := loadGP("f")
		SHLQ(U8(2), t)
		MOVQ(t, f4)
	}
	acc := make([][]VecVirtual, kb)
	{
		gp := loadGP("grad")
		for kk := range acc {
			acc[kk] = make([]VecVirtual, nv)
			for v := range acc[kk] {
				acc[kk][v] = s.vec()
				s.load(Mem{Base: gp, Disp: s.vsize * v}, acc[kk][v], lm(v))
			}
			if kk < kb-1 {
				ADDQ(f4, gp)
			}
		}
	}
	bacc := make([]VecVirtual, nv)
	for v := range bacc {
		bacc[v] = s.vec()
		VXORPS(bacc[v], bacc[v], bacc[v])
	}
	{
		gb := loadGP("gb")
		TESTQ(gb, gb)
		JZ(LabelRef("nogb"))
		for v := range bacc {
			s.load(Mem{Base: gb, Disp: s.vsize * v}, bacc[v], lm(v))
		}
		Label("nogb")
	}

	// The kernel rows' cells as pointers, x + 4·koff[kk], so that the
	// loop reads x[pix[q]+koff[kk]] at (ptr[kk])(pix[q]·4) without loading
	// koff: the first gradPtrRegs stay in registers, the others in locals.
	nreg := min(kb, gradPtrRegs)
	var spill Mem
	if kb > nreg {
		spill = AllocLocal(8 * (kb - nreg))
	}
	pixEnd := AllocLocal(8) // &pix[n]
	{
		pixp, n := loadGP("pix"), loadGP("n")
		LEAQ(Mem{Base: pixp, Index: n, Scale: 4}, pixp)
		MOVQ(pixp, pixEnd)
	}
	rowPtrs := func() []GPVirtual {
		xp, kp := loadGP("x"), loadGP("koff")
		ptrs := make([]GPVirtual, nreg)
		for kk := 0; kk < kb; kk++ {
			o := GP64()
			MOVLQSX(Mem{Base: kp, Disp: 4 * kk}, o)
			LEAQ(Mem{Base: xp, Index: o, Scale: 4}, o)
			if kk < nreg {
				ptrs[kk] = o
			} else {
				MOVQ(o, spill.Offset(8*(kk-nreg)))
			}
		}
		return ptrs
	}

	// loop runs over all pixels; relu masks d with the bits of m.
	loop := func(relu bool, sfx string) {
		dzp := loadGP("dz")
		var mp, tab GPVirtual
		if relu {
			mp = loadGP("m")
			if !s.wide {
				tab = GP64()
				LEAQ(byteMasks, tab)
			}
		}
		ptrs := rowPtrs()
		pixp := loadGP("pix")
		Label("loop" + sfx)
		d := make([]VecVirtual, nv)
		for v := range d {
			d[v] = s.vec()
			lmv := lm(v)
			src := Mem{Base: dzp, Disp: s.vsize * v}
			switch {
			case !relu:
				s.load(src, d[v], lmv)
			case s.wide:
				km := K()
				KMOVW(Mem{Base: mp, Disp: 2 * v}, km)
				s.load(src, d[v], lmv)
				VMOVAPS_Z(d[v], km, d[v]) // dz where the bit is set, else +0
			default:
				// The byte's eight lanes from byteMasks: one load and
				// one AND, where building them from the byte took four
				// vector instructions.
				b := GP64()
				MOVBLZX(Mem{Base: mp, Disp: v}, b.As32())
				SHLQ(U8(5), b)
				s.load(src, d[v], lmv)
				VANDPS(Mem{Base: tab, Index: b, Scale: 1}, d[v], d[v])
			}
			VADDPS(d[v], bacc[v], bacc[v])
		}
		pv := GP64()
		MOVLQSX(Mem{Base: pixp}, pv)
		for kk := 0; kk < kb; kk++ {
			var ptr GPVirtual
			if kk < nreg {
				ptr = ptrs[kk]
			} else {
				ptr = GP64()
				MOVQ(spill.Offset(8*(kk-nreg)), ptr)
			}
			b := s.vec()
			VBROADCASTSS(Mem{Base: ptr, Index: pv, Scale: 4}, b)
			for v := 0; v < nv; v++ {
				t := s.vec()
				VMULPS(d[v], b, t)
				VADDPS(t, acc[kk][v], acc[kk][v])
			}
		}
		ADDQ(f4, dzp)
		if relu {
			ADDQ(paramAddr("ms"), mp)
		}
		ADDQ(U8(4), pixp)
		CMPQ(pixp, pixEnd)
		JLT(LabelRef("loop" + sfx))
	}
	{
		mp := loadGP("m")
		TESTQ(mp, mp)
		JNZ(LabelRef("relu"))
	}
	loop(false, "p")
	JMP(LabelRef("store"))
	Label("relu")
	loop(true, "r")

	Label("store")
	gp := loadGP("grad")
	for kk := range acc {
		for v := range acc[kk] {
			s.store(acc[kk][v], Mem{Base: gp, Disp: s.vsize * v}, lm(v))
		}
		if kk < kb-1 {
			ADDQ(f4, gp)
		}
	}
	gb := loadGP("gb")
	TESTQ(gb, gb)
	JZ(LabelRef("done"))
	for v := range bacc {
		s.store(bacc[v], Mem{Base: gb, Disp: s.vsize * v}, lm(v))
	}
	Label("done")
	VZEROUPPER()
	RET()
}

// chanBlocks runs body over the channel blocks of one pixel: whole
// vectors while at least lanes channels remain (cb is the first channel),
// then, if channels remain, one block masked to them.
func chanBlocks(s isa, body func(cb GPVirtual, m *mask, sfx string)) {
	cb := GP64()
	XORQ(cb, cb)
	Label("full")
	rest := GP64()
	MOVQ(paramAddr("c"), rest)
	SUBQ(cb, rest)
	CMPQ(rest, U8(s.lanes))
	JLT(LabelRef("tail"))
	body(cb, nil, "f")
	ADDQ(U8(s.lanes), cb)
	JMP(LabelRef("full"))
	Label("tail")
	TESTQ(rest, rest)
	JZ(LabelRef("pixdone"))
	km := s.tailMaskOf(rest)
	body(cb, &km, "t")
	Label("pixdone")
}

// broadcastGP returns the vector of int32 r in every lane.
func broadcastGP(s isa, r GPVirtual) VecVirtual {
	v := s.vec()
	if s.wide {
		VPBROADCASTD(r.As32(), v)
	} else {
		x := XMM()
		VMOVD(r.As32(), x) // VEX-encoded, see convGrad
		VPBROADCASTD(x, v)
	}
	return v
}

// The pooling kernels take tab, one vector per cell t: tab[t*lanes+i] =
// cells[t] + i. Indices are handled relative to pix[q] + cb (the window's
// first channel of the block): the candidates are tab's vectors, so a cell
// costs no transfer from a general register to a vector one, and the
// window's offset is added (MaxPool) or subtracted (MaxPoolGrad) once per
// block.

// cellLoop runs body for cells t = from … nc−1 with o = cells[t] and row
// the address of tab[t·lanes].
func cellLoop(s isa, from int, sfx string, body func(o GPVirtual, row Mem)) {
	cp, tp := loadGP("cells"), loadGP("tab")
	end := GP64()
	{
		nc := loadGP("nc")
		LEAQ(Mem{Base: cp, Index: nc, Scale: 4}, end)
	}
	if from > 0 {
		ADDQ(U8(4*from), cp)
		ADDQ(U32(s.vsize*from), tp)
		CMPQ(cp, end)
		JGE(LabelRef("cellsdone" + sfx))
	}
	Label("cell" + sfx)
	o := GP64()
	MOVLQSX(Mem{Base: cp}, o)
	body(o, Mem{Base: tp})
	ADDQ(U8(4), cp)
	ADDQ(U32(s.vsize), tp)
	CMPQ(cp, end)
	JLT(LabelRef("cell" + sfx))
	Label("cellsdone" + sfx)
}

const poolSig = "func(y *float32, arg *int32, x *float32, pix *int32, out *int32, n int, cells *int32, nc int, c int, tab *int32)"

// maxPool is MaxPool: for each pixel, channel blocks of one vector run
// through the window's cells.
func maxPool(s isa) {
	name := "maxPool" + s.suffix()
	TEXT(name, NOSPLIT, poolSig)
	Pragma("noescape")
	Doc(name+" is MaxPool for n ≥ 1 pixels and nc ≥ 1 cells; arg may be nil; tab holds",
		fmt.Sprintf("cells[t] + i at tab[t*%d+i] (i < %d).", s.lanes, s.lanes),
		"",
		"	for q := 0; q < n; q++ {",
		"		for ch := 0; ch < c; ch++ {",
		"			a := pix[q] + cells[0] + ch",
		"			m := x[a]",
		"			for t := 1; t < nc; t++ {",
		"				if v := x[pix[q]+cells[t]+ch]; v > m {",
		"					m, a = v, pix[q]+cells[t]+ch",
		"				}",
		"			}",
		"			y[out[q]+ch], arg[out[q]+ch] = m, a",
		"		}",
		"	}")
	q := GP64()
	XORQ(q, q)
	Label("pixel")
	chanBlocks(s, func(cb GPVirtual, km *mask, sfx string) {
		pq := GP64() // pix[q] + cb
		{
			pixp := loadGP("pix")
			MOVLQSX(Mem{Base: pixp, Index: q, Scale: 4}, pq)
			ADDQ(cb, pq)
		}
		xq := loadGP("x")
		LEAQ(Mem{Base: xq, Index: pq, Scale: 4}, xq)
		m, a := s.vec(), s.vec()
		{
			cp, tp := loadGP("cells"), loadGP("tab")
			o := GP64()
			MOVLQSX(Mem{Base: cp}, o)
			s.load(Mem{Base: xq, Index: o, Scale: 4}, m, km)
			VMOVUPS(Mem{Base: tp}, a) // cells[0] + lane
		}
		cellLoop(s, 1, sfx, func(o GPVirtual, row Mem) {
			v := s.vec()
			s.load(Mem{Base: xq, Index: o, Scale: 4}, v, km)
			if s.wide {
				kg, r := K(), s.vec()
				VCMPPS(U8(0x1e), m, v, kg) // GT_OQ: v > m
				VMOVDQU32(row, r)
				VMOVDQA32(r, kg, a)
			} else {
				g := YMM()
				VCMPPS(U8(0x1e), m, v, g) // GT_OQ: v > m
				VBLENDVPS(g, row, a, a)
			}
			VMAXPS(m, v, m) // v > m ? v : m, as the comparison (NaN never wins)
		})
		{
			o := GP64()
			outp := loadGP("out")
			MOVLQSX(Mem{Base: outp, Index: q, Scale: 4}, o)
			ADDQ(cb, o)
			yp := loadGP("y")
			s.store(m, Mem{Base: yp, Index: o, Scale: 4}, km)
			ap := loadGP("arg")
			TESTQ(ap, ap)
			JZ(LabelRef("next" + sfx))
			VPADDD(broadcastGP(s, pq), a, a)
			s.store(a, Mem{Base: ap, Index: o, Scale: 4}, km)
		}
		Label("next" + sfx)
	})
	INCQ(q)
	CMPQ(q, paramAddr("n"))
	JLT(LabelRef("pixel"))
	VZEROUPPER()
	RET()
}

const poolGradSig = "func(dx *float32, dy *float32, arg *int32, pix *int32, out *int32, n int, cells *int32, nc int, c int, tab *int32)"

// maxPoolGrad is MaxPoolGrad: every cell of every window gets 0 + dy where
// it holds the maximum, +0 elsewhere.
func maxPoolGrad(s isa) {
	name := "maxPoolGrad" + s.suffix()
	TEXT(name, NOSPLIT, poolGradSig)
	Pragma("noescape")
	Doc(name+" is MaxPoolGrad for n ≥ 1 pixels and nc ≥ 1 cells; tab holds cells[t] + i",
		fmt.Sprintf("at tab[t*%d+i] (i < %d).", s.lanes, s.lanes),
		"",
		"	for q := 0; q < n; q++ {",
		"		for t := 0; t < nc; t++ {",
		"			for ch := 0; ch < c; ch++ {",
		"				i := pix[q] + cells[t] + ch",
		"				dx[i] = arg[out[q]+ch] == i ? 0 + dy[out[q]+ch] : +0",
		"			}",
		"		}",
		"	}")
	zero := s.vec()
	VXORPS(zero, zero, zero)
	q := GP64()
	XORQ(q, q)
	Label("pixel")
	chanBlocks(s, func(cb GPVirtual, km *mask, sfx string) {
		pq := GP64() // pix[q] + cb
		{
			pixp := loadGP("pix")
			MOVLQSX(Mem{Base: pixp, Index: q, Scale: 4}, pq)
			ADDQ(cb, pq)
		}
		a, d := s.vec(), s.vec()
		{
			o := GP64()
			outp := loadGP("out")
			MOVLQSX(Mem{Base: outp, Index: q, Scale: 4}, o)
			ADDQ(cb, o)
			ap, dyp := loadGP("arg"), loadGP("dy")
			s.load(Mem{Base: ap, Index: o, Scale: 4}, a, km)
			s.load(Mem{Base: dyp, Index: o, Scale: 4}, d, km)
			VADDPS(d, zero, d)               // 0 + dy: -0 becomes +0, as adding onto a cleared dx
			VPSUBD(broadcastGP(s, pq), a, a) // arg − (pix[q] + cb): cells[t] + lane where cell t won
		}
		dxq := loadGP("dx")
		LEAQ(Mem{Base: dxq, Index: pq, Scale: 4}, dxq)
		cellLoop(s, 0, sfx, func(o GPVirtual, row Mem) {
			v := s.vec()
			if s.wide {
				ke := K()
				VPCMPEQD(row, a, ke)
				VMOVAPS_Z(d, ke, v)
			} else {
				e := YMM()
				VPCMPEQD(row, a, e)
				VANDPS(d, e, v)
			}
			s.store(v, Mem{Base: dxq, Index: o, Scale: 4}, km)
		})
	})
	INCQ(q)
	CMPQ(q, paramAddr("n"))
	JLT(LabelRef("pixel"))
	VZEROUPPER()
	RET()
}

// poolCells are the window sizes with their own pooling kernels (2×2 and
// 3×3), whose cells are unrolled; the others loop over the cells.
var poolCells = []int{4, 9}

// poolRegsMax is the largest window whose cell offsets and candidate
// vectors the unrolled pooling kernels keep in registers (larger ones read
// them from cells and tab).
const poolRegsMax = 4

// poolCellsOf returns the nc cells' offsets, in registers or as memory
// operands, and the rows of tab likewise.
func poolCellsOf(s isa, nc int) (offs []Op, rows []Op) {
	cp, tp := loadGP("cells"), loadGP("tab")
	for t := 0; t < nc; t++ {
		if nc <= poolRegsMax {
			o, r := GP64(), s.vec()
			MOVLQSX(Mem{Base: cp, Disp: 4 * t}, o)
			VMOVUPS(Mem{Base: tp, Disp: s.vsize * t}, r)
			offs, rows = append(offs, o), append(rows, r)
		} else {
			offs, rows = append(offs, Mem{Base: cp, Disp: 4 * t}), append(rows, Mem{Base: tp, Disp: s.vsize * t})
		}
	}
	return offs, rows
}

// poolPrefetch is how far ahead of each cell, in bytes, the unrolled
// pooling kernels prefetch: their samples (the activations of a whole
// batch, read or written once) come from memory, and the hardware
// prefetcher alone left MaxPool twice as slow there (8.5 against 4.5 µs a
// 26×26×32 sample, BenchmarkMaxPool/dram). It measured the same from 4 to
// 8 KB; past the sample's end it loads the next sample, which the layer
// takes next.
const poolPrefetch = 4096

// prefetchCells prefetches the lines poolPrefetch bytes past each cell
// from p.
func prefetchCells(p GPVirtual, offs []Op) {
	for _, o := range offs {
		a := cellAddr(p, o)
		a.Disp += poolPrefetch
		PREFETCHT0(a)
	}
}

// cellAddr returns the address of cell o from p: (p)(o·4), loading o into
// a register first if it is in memory.
func cellAddr(p GPVirtual, o Op) Mem {
	r, ok := o.(GPVirtual)
	if !ok {
		r = GP64()
		MOVLQSX(o, r)
	}
	return Mem{Base: p, Index: r, Scale: 4}
}

const poolSig8 = "func(y *float32, arg *uint8, x *float32, pix *int32, out *int32, n int, cells *int32, nc int, c int, tab *int32)"

// poolName names an unrolled pooling kernel: maxPool512n4, or with bytes
// maxPool8512n4, its arg one byte per output, the index t of the winning
// cell (MaxPool8).
func poolName(kind string, s isa, nc int, bytes bool) string {
	if bytes {
		kind += "8"
	}
	return fmt.Sprintf("%s%sn%d", kind, s.suffix(), nc)
}

// poolText starts the unrolled pooling kernel name: its signature and doc
// (sig8 and doc8 for the byte variant), and returns the loop over channel
// blocks it runs (whole vectors only for bytes).
func poolText(name string, bytes bool, sig, sig8, doc, doc8 string) func(s isa, body func(cb GPVirtual, m *mask, sfx string)) {
	if bytes {
		sig, doc = sig8, doc8
	}
	TEXT(name, NOSPLIT, sig)
	Pragma("noescape")
	Doc(doc)
	if bytes {
		return fullBlocks
	}
	return chanBlocks
}

// fullBlocks is chanBlocks for c a multiple of the lanes: whole vectors
// only (the byte kernels' callers ensure it).
func fullBlocks(s isa, body func(cb GPVirtual, m *mask, sfx string)) {
	cb := GP64()
	XORQ(cb, cb)
	Label("full")
	body(cb, nil, "f")
	ADDQ(U8(s.lanes), cb)
	CMPQ(cb, paramAddr("c"))
	JLT(LabelRef("full"))
}

// storeBytes stores the low byte of each int32 lane of a (values below
// 256) at dst: lanes bytes.
func storeBytes(s isa, a VecVirtual, dst Mem) {
	if s.wide {
		VPMOVDB(a, dst)
		return
	}
	w, hi, r := YMM(), XMM(), XMM()
	VPACKUSDW(a, a, w) // per 128-bit lane: the 4 words, twice
	VPACKUSWB(w, w, w) // per 128-bit lane: the 4 bytes, four times
	VEXTRACTI128(U8(1), w, hi)
	VPUNPCKLDQ(hi, w.AsX(), r) // lanes 0–3, then 4–7
	VMOVQ(r, dst)
}

// maxPoolN is maxPool for windows of nc cells, unrolled; with bytes, the
// index t of each maximum's cell goes to arg as a byte (tab holding t in
// every lane of row t, for c a multiple of the lanes).
func maxPoolN(s isa, nc int, bytes bool) {
	name := poolName("maxPool", s, nc, bytes)
	blocks := poolText(name, bytes, poolSig, poolSig8, fmt.Sprintf("%s is maxPool%s for nc = %d.", name, s.suffix(), nc),
		fmt.Sprintf("%s is maxPool%sn%d with arg[out[q]+ch] = t, the index of the maximum's cell, as a byte; tab holds t at tab[t*%d+i]; c is a multiple of %d.", name, s.suffix(), nc, s.lanes, s.lanes))
	offs, rows := poolCellsOf(s, nc)
	q := GP64()
	XORQ(q, q)
	Label("pixel")
	blocks(s, func(cb GPVirtual, km *mask, sfx string) {
		pq := GP64() // pix[q] + cb
		{
			pixp := loadGP("pix")
			MOVLQSX(Mem{Base: pixp, Index: q, Scale: 4}, pq)
			ADDQ(cb, pq)
		}
		xq := loadGP("x")
		LEAQ(Mem{Base: xq, Index: pq, Scale: 4}, xq)
		prefetchCells(xq, offs)
		m, a := s.vec(), s.vec()
		s.load(cellAddr(xq, offs[0]), m, km)
		VMOVUPS(rows[0], a) // cells[0] + lane
		for t := 1; t < nc; t++ {
			v := s.vec()
			s.load(cellAddr(xq, offs[t]), v, km)
			if s.wide {
				kg := K()
				VCMPPS(U8(0x1e), m, v, kg) // GT_OQ: v > m
				r, ok := rows[t].(VecVirtual)
				if !ok {
					r = s.vec()
					VMOVUPS(rows[t], r)
				}
				VMOVDQA32(r, kg, a)
			} else {
				g := YMM()
				VCMPPS(U8(0x1e), m, v, g) // GT_OQ: v > m
				VBLENDVPS(g, rows[t], a, a)
			}
			VMAXPS(m, v, m) // v > m ? v : m, as the comparison (NaN never wins)
		}
		o := GP64()
		outp := loadGP("out")
		MOVLQSX(Mem{Base: outp, Index: q, Scale: 4}, o)
		ADDQ(cb, o)
		yp := loadGP("y")
		s.store(m, Mem{Base: yp, Index: o, Scale: 4}, km)
		ap := loadGP("arg")
		TESTQ(ap, ap)
		JZ(LabelRef("next" + sfx))
		if bytes {
			storeBytes(s, a, Mem{Base: ap, Index: o, Scale: 1})
		} else {
			VPADDD(broadcastGP(s, pq), a, a)
			s.store(a, Mem{Base: ap, Index: o, Scale: 4}, km)
		}
		Label("next" + sfx)
	})
	INCQ(q)
	CMPQ(q, paramAddr("n"))
	JLT(LabelRef("pixel"))
	VZEROUPPER()
	RET()
}

const poolGradSig8 = "func(dx *float32, dy *float32, arg *uint8, pix *int32, out *int32, n int, cells *int32, nc int, c int, tab *int32)"

// maxPoolGradN is maxPoolGrad for windows of nc cells, unrolled; with
// bytes, for maxPoolN's byte indices (tab holding t in row t).
func maxPoolGradN(s isa, nc int, bytes bool) {
	name := poolName("maxPoolGrad", s, nc, bytes)
	blocks := poolText(name, bytes, poolGradSig, poolGradSig8, fmt.Sprintf("%s is maxPoolGrad%s for nc = %d.", name, s.suffix(), nc),
		fmt.Sprintf("%s is maxPoolGrad%sn%d for the byte indices of maxPool8%sn%d; tab holds t at tab[t*%d+i]; c is a multiple of %d.", name, s.suffix(), nc, s.suffix(), nc, s.lanes, s.lanes))
	offs, rows := poolCellsOf(s, nc)
	zero := s.vec()
	VXORPS(zero, zero, zero)
	q := GP64()
	XORQ(q, q)
	Label("pixel")
	blocks(s, func(cb GPVirtual, km *mask, sfx string) {
		pq := GP64() // pix[q] + cb
		{
			pixp := loadGP("pix")
			MOVLQSX(Mem{Base: pixp, Index: q, Scale: 4}, pq)
			ADDQ(cb, pq)
		}
		a, d := s.vec(), s.vec()
		{
			o := GP64()
			outp := loadGP("out")
			MOVLQSX(Mem{Base: outp, Index: q, Scale: 4}, o)
			ADDQ(cb, o)
			ap, dyp := loadGP("arg"), loadGP("dy")
			if bytes {
				VPMOVZXBD(Mem{Base: ap, Index: o, Scale: 1}, a) // t where cell t won
			} else {
				s.load(Mem{Base: ap, Index: o, Scale: 4}, a, km)
			}
			s.load(Mem{Base: dyp, Index: o, Scale: 4}, d, km)
			VADDPS(d, zero, d) // 0 + dy: -0 becomes +0, as adding onto a cleared dx
			if !bytes {
				VPSUBD(broadcastGP(s, pq), a, a) // cells[t] + lane where cell t won
			}
		}
		dxq := loadGP("dx")
		LEAQ(Mem{Base: dxq, Index: pq, Scale: 4}, dxq)
		prefetchCells(dxq, offs)
		for t := 0; t < nc; t++ {
			v := s.vec()
			if s.wide {
				ke := K()
				VPCMPEQD(rows[t], a, ke)
				VMOVAPS_Z(d, ke, v)
			} else {
				e := YMM()
				VPCMPEQD(rows[t], a, e)
				VANDPS(d, e, v)
			}
			s.store(v, cellAddr(dxq, offs[t]), km)
		}
	})
	INCQ(q)
	CMPQ(q, paramAddr("n"))
	JLT(LabelRef("pixel"))
	VZEROUPPER()
	RET()
}

// writeDispatch writes the Go switches that call the kernel variants
// directly (not through function values, so that their noescape pragmas
// hold).
func writeDispatch(path string) {
	var b bytes.Buffer
	fmt.Fprintln(&b, "// Code generated by command: go run ./_asm/conv. DO NOT EDIT.")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "//go:build !purego")
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "package kernels")
	fmt.Fprintln(&b)
	for _, s := range []isa{avx512, avx2} {
		sfx := s.suffix()
		fmt.Fprintf(&b, "// convGradKB%s is the most kernel rows convGrad%sx{nv}k{kb} keeps in registers, by nv.\n", sfx, sfx)
		fmt.Fprintf(&b, "var convGradKB%s = [3]int{0, %d, %d}\n\n", sfx, gradKB(s, 1), gradKB(s, 2))
		fmt.Fprintf(&b, "func convGrad%s(nv, kb int, full bool, g, gb, x *float32, pix *int32, n int, koff *int32, dz *float32, m *uint8, ms, f, tail int) {\n", sfx)
		fmt.Fprintln(&b, "\tswitch nv*64 + kb {")
		for nv := 1; nv <= 2; nv++ {
			for kb := 1; kb <= gradKB(s, nv); kb++ {
				fmt.Fprintf(&b, "\tcase %d:\n\t\tif full {\n\t\t\tconvGrad%sx%dk%dfull(g, gb, x, pix, n, koff, dz, m, ms, f, tail)\n\t\t} else {\n\t\t\tconvGrad%sx%dk%d(g, gb, x, pix, n, koff, dz, m, ms, f, tail)\n\t\t}\n", nv*64+kb, sfx, nv, kb, sfx, nv, kb)
			}
		}
		fmt.Fprintln(&b, "\tdefault:\n\t\tpanic(\"kernels: no convGrad variant\")")
		fmt.Fprintln(&b, "\t}\n}")
		fmt.Fprintln(&b)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		panic(err)
	}
}
