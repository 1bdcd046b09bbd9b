// Command _asm generates the probe loops bench uses to measure what this
// CPU can do (../peak_amd64.s and ../peak_stubs_amd64.go) with avo. It lives
// in its own module so that avo is not a dependency of kiln. Run it through
// go generate in the parent directory:
//
//	go generate ./bench
//
// The loops measure throughput, not latency: every instruction reads only
// constants (1·1, 1+0, √1, 1/1) and writes a register nobody reads, so no
// instruction waits for another and the out-of-order core keeps as many in
// flight as its units take. (Dependency chains, one per register, measured
// latency-bound at AVX2's 16 registers: 74 G multiply-adds/s with 7 + 7
// chains against 110 G here; the AVX-512 probe measured the same both ways.)
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

func main() {
	ConstraintExpr("!purego")
	one := GLOBL("one", RODATA|NOPTR)
	DATA(0, F32(1))

	mulAdd("mulAdd512", 512, 7, 4, one)
	mulAdd("mulAdd256", 256, 7, 4, one)
	sqrtDiv("sqrtDiv512", 512, 7, one)
	sqrtDiv("sqrtDiv256", 256, 7, one)
	readSum("readSum512", 512)
	readSum("readSum256", 256)
	Generate()
}

func vec(bits int) VecVirtual {
	if bits == 512 {
		return ZMM()
	}
	return YMM()
}

func lanes(bits int) int { return bits / 32 }

func mulAdd(name string, bits, chains, unroll int, one Mem) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations of %d independent vector multiplies and %d adds (%d-bit, %d lanes).",
		name, chains*unroll, chains*unroll, bits, lanes(bits)))
	n := Load(Param("n"), GP64())
	c1, c0 := vec(bits), vec(bits)
	VBROADCASTSS(one, c1)
	VXORPS(c0, c0, c0)
	m := make([]VecVirtual, chains)
	a := make([]VecVirtual, chains)
	for i := range m {
		m[i], a[i] = vec(bits), vec(bits)
		VMOVUPS(c1, m[i])
		VMOVUPS(c1, a[i])
	}
	Label(name + "_loop")
	for u := 0; u < unroll; u++ {
		for i := range m {
			VMULPS(c1, c1, m[i])
			VADDPS(c0, c1, a[i])
		}
	}
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

func sqrtDiv(name string, bits, chains int, one Mem) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(fmt.Sprintf("%s runs n iterations of %d independent vector square roots and %d divides (%d-bit, %d lanes).",
		name, chains, chains, bits, lanes(bits)))
	n := Load(Param("n"), GP64())
	c1 := vec(bits)
	VBROADCASTSS(one, c1)
	s := make([]VecVirtual, chains)
	d := make([]VecVirtual, chains)
	for i := range s {
		s[i], d[i] = vec(bits), vec(bits)
		VMOVUPS(c1, s[i])
		VMOVUPS(c1, d[i])
	}
	Label(name + "_loop")
	for i := range s {
		VSQRTPS(c1, s[i])
		VDIVPS(c1, c1, d[i])
	}
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}

func readSum(name string, bits int) {
	TEXT(name, NOSPLIT, "func(p *float32, n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s reads the n floats at p (n a multiple of %d) with %d-bit loads added into four accumulators, as a streaming read.",
		name, 4*lanes(bits), bits))
	p := Load(Param("p"), GP64())
	n := Load(Param("n"), GP64())
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = vec(bits)
		VXORPS(acc[i], acc[i], acc[i])
	}
	step := 4 * bits / 8
	Label(name + "_loop")
	for i := range acc {
		VADDPS(Mem{Base: p, Disp: i * bits / 8}, acc[i], acc[i])
	}
	ADDQ(U32(step), p)
	SUBQ(U32(4*lanes(bits)), n)
	JNZ(LabelRef(name + "_loop"))
	VZEROUPPER()
	RET()
}
