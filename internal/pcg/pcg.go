// Package pcg is math/rand/v2's PCG generator (a 128-bit linear
// congruential state with the DXSM output function) with jump-ahead: a
// stream's draws i … j can be computed from its state alone, in O(log i),
// so that the parts of a long run of draws (Dropout's mask over a batch)
// can be made on several threads, or in several interleaved chains on one,
// and give exactly the numbers of one rand.PCG drawing them in order.
package pcg

import "math/bits"

// The LCG's constants, as math/rand/v2 (state = state·mul + inc, mod 2¹²⁸).
const (
	mulHi = 2549297995355413924
	mulLo = 4865540595714422341
	incHi = 6364136223846793005
	incLo = 1442695040888963407
)

// State is a PCG's state: rand.NewPCG(Hi, Lo) and rand.PCG.Seed(Hi, Lo)
// set the same one.
type State struct{ Hi, Lo uint64 }

// mul returns a·b mod 2¹²⁸.
func mul(aHi, aLo, bHi, bLo uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(aLo, bLo)
	hi += aHi*bLo + aLo*bHi
	return hi, lo
}

// add returns a+b mod 2¹²⁸.
func add(aHi, aLo, bHi, bLo uint64) (hi, lo uint64) {
	lo, c := bits.Add64(aLo, bLo, 0)
	hi, _ = bits.Add64(aHi, bHi, c)
	return hi, lo
}

// Next advances the state by one draw and returns the draw: rand.PCG's
// Uint64, bit for bit.
func (s *State) Next() uint64 {
	hi, lo := mul(s.Hi, s.Lo, mulHi, mulLo)
	hi, lo = add(hi, lo, incHi, incLo)
	s.Hi, s.Lo = hi, lo
	// DXSM, "double xorshift multiply".
	const cheapMul = 0xda942042e4dd58b5
	hi ^= hi >> 32
	hi *= cheapMul
	hi ^= hi >> 48
	hi *= lo | 1
	return hi
}

// Advance moves the state k draws ahead, as k calls of Next would, in
// O(log k) (Brown, "Random number generation with arbitrary strides",
// 1994: the k-step map s ↦ A·s + C, A and C built by squaring).
func (s *State) Advance(k uint64) {
	accMulHi, accMulLo := uint64(0), uint64(1)
	accIncHi, accIncLo := uint64(0), uint64(0)
	curMulHi, curMulLo := uint64(mulHi), uint64(mulLo)
	curIncHi, curIncLo := uint64(incHi), uint64(incLo)
	for ; k > 0; k >>= 1 {
		if k&1 != 0 {
			accMulHi, accMulLo = mul(accMulHi, accMulLo, curMulHi, curMulLo)
			accIncHi, accIncLo = mul(accIncHi, accIncLo, curMulHi, curMulLo)
			accIncHi, accIncLo = add(accIncHi, accIncLo, curIncHi, curIncLo)
		}
		// cur = cur∘cur: inc' = (mul + 1)·inc, mul' = mul².
		pHi, pLo := add(curMulHi, curMulLo, 0, 1)
		curIncHi, curIncLo = mul(pHi, pLo, curIncHi, curIncLo)
		curMulHi, curMulLo = mul(curMulHi, curMulLo, curMulHi, curMulLo)
	}
	hi, lo := mul(accMulHi, accMulLo, s.Hi, s.Lo)
	s.Hi, s.Lo = add(hi, lo, accIncHi, accIncLo)
}

// Fill sets dst to the next len(dst) draws, in order, and advances the
// state past them. It computes four quarters of dst side by side, each
// from the state jumped to its start: one chain's products wait on the
// previous ones, four keep the multiplier busy.
func (s *State) Fill(dst []uint64) {
	q := len(dst) / 4
	if q < 8 {
		for i := range dst {
			dst[i] = s.Next()
		}
		return
	}
	c0 := *s
	c1 := c0
	c1.Advance(uint64(q))
	c2 := c1
	c2.Advance(uint64(q))
	c3 := c2
	c3.Advance(uint64(q))
	d0, d1, d2, d3 := dst[:q], dst[q:2*q], dst[2*q:3*q], dst[3*q:4*q]
	h0, l0, h1, l1 := c0.Hi, c0.Lo, c1.Hi, c1.Lo
	h2, l2, h3, l3 := c2.Hi, c2.Lo, c3.Hi, c3.Lo
	const cheapMul = 0xda942042e4dd58b5
	for i := range d0 {
		var c uint64
		// state = state·mul + inc for each chain, then DXSM.
		x0, y0 := bits.Mul64(l0, mulLo)
		x1, y1 := bits.Mul64(l1, mulLo)
		x2, y2 := bits.Mul64(l2, mulLo)
		x3, y3 := bits.Mul64(l3, mulLo)
		x0 += h0*mulLo + l0*mulHi
		x1 += h1*mulLo + l1*mulHi
		x2 += h2*mulLo + l2*mulHi
		x3 += h3*mulLo + l3*mulHi
		l0, c = bits.Add64(y0, incLo, 0)
		h0, _ = bits.Add64(x0, incHi, c)
		l1, c = bits.Add64(y1, incLo, 0)
		h1, _ = bits.Add64(x1, incHi, c)
		l2, c = bits.Add64(y2, incLo, 0)
		h2, _ = bits.Add64(x2, incHi, c)
		l3, c = bits.Add64(y3, incLo, 0)
		h3, _ = bits.Add64(x3, incHi, c)
		v0, v1, v2, v3 := h0^h0>>32, h1^h1>>32, h2^h2>>32, h3^h3>>32
		v0, v1, v2, v3 = v0*cheapMul, v1*cheapMul, v2*cheapMul, v3*cheapMul
		v0, v1, v2, v3 = v0^v0>>48, v1^v1>>48, v2^v2>>48, v3^v3>>48
		d0[i], d1[i], d2[i], d3[i] = v0*(l0|1), v1*(l1|1), v2*(l2|1), v3*(l3|1)
	}
	*s = State{h3, l3}
	for i := 4 * q; i < len(dst); i++ {
		dst[i] = s.Next()
	}
}
