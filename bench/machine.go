package bench

import (
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/kiln-ml/kiln/internal/kernels"
)

// Machine is what this CPU measurably does with the kernel level in use, on
// a number of threads at once: the rates that bound kiln's training from
// below (see Limit).
type Machine struct {
	Level   string  // the kernel level the rates were measured at
	Threads int     // goroutines running the probes at once
	MulAdd  float64 // float32 multiplies and adds per second (separate instructions, as kiln's kernels run them: no FMA)
	SqrtDiv float64 // float32 (square root, divide) pairs per second, correctly rounded
	ReadBW  float64 // bytes per second streamed from memory (a 128 MiB buffer, far beyond the caches)
}

// loops are the probe loops of one kernel level: mulAdd and sqrtDiv run n
// iterations of perMA operations (multiplies + adds) and perSD (square
// root, divide) pairs; read streams through p.
type loops struct {
	mulAdd  func(n int)
	perMA   int
	sqrtDiv func(n int)
	perSD   int
	read    func(p []float32)
}

// genericLoops are plain Go loops with independent chains: what the
// pure-Go kernels (the generic level, and other architectures) can reach.
func genericLoops() *loops {
	return &loops{
		mulAdd: func(n int) {
			// Locals, not an array: the compiler keeps them in registers.
			m0, m1, m2, m3, m4, m5 := float32(1), float32(1), float32(1), float32(1), float32(1), float32(1)
			a0, a1, a2, a3, a4, a5 := float32(1), float32(1), float32(1), float32(1), float32(1), float32(1)
			one, zero := probeOne, probeZero
			for ; n > 0; n-- {
				m0, m1, m2, m3, m4, m5 = m0*one, m1*one, m2*one, m3*one, m4*one, m5*one
				a0, a1, a2, a3, a4, a5 = a0+zero, a1+zero, a2+zero, a3+zero, a4+zero, a5+zero
			}
			sink(m0 + m1 + m2 + m3 + m4 + m5 + a0 + a1 + a2 + a3 + a4 + a5)
		},
		perMA: 12,
		sqrtDiv: func(n int) {
			s := [4]float32{1, 1, 1, 1}
			d := [4]float32{1, 1, 1, 1}
			one := float32(1)
			for ; n > 0; n-- {
				for i := range s {
					s[i] = float32(math.Sqrt(float64(s[i])))
					d[i] /= one
				}
			}
			sink(s[0] + d[0])
		},
		perSD: 4,
		read: func(p []float32) {
			var a, b, c, d float32
			for i := 0; i+4 <= len(p); i += 4 {
				a += p[i]
				b += p[i+1]
				c += p[i+2]
				d += p[i+3]
			}
			sink(a + b + c + d)
		},
	}
}

// probeOne and probeZero are variables so that the compiler cannot fold
// the generic probe's multiplies and adds away.
var probeOne, probeZero float32 = 1, 0

var sinkMu sync.Mutex
var sinkV float32

// sink keeps a probe's result alive so the compiler cannot drop the loop.
func sink(v float32) {
	sinkMu.Lock()
	sinkV += v
	sinkMu.Unlock()
}

// readBuffer is the size of the bandwidth probe's buffer: far beyond any
// cache, small enough for a laptop.
const readBuffer = 128 << 20

// MeasureMachine measures the peak rates with the kernel level in use on
// threads goroutines at once (GOMAXPROCS is raised to threads for the
// measurement). It takes about a second.
func MeasureMachine(threads int) Machine {
	if threads < 1 {
		threads = 1
	}
	prev := runtime.GOMAXPROCS(0)
	if prev < threads {
		runtime.GOMAXPROCS(threads)
		defer runtime.GOMAXPROCS(prev)
	}
	l := probeLoops()
	level := kernels.Current().String()
	if l == nil {
		l = genericLoops()
	}
	m := Machine{Level: level, Threads: threads}
	m.MulAdd = float64(l.perMA) * rate(threads, l.mulAdd)
	m.SqrtDiv = float64(l.perSD) * rate(threads, l.sqrtDiv)

	buf := make([]float32, readBuffer/4)
	for i := range buf {
		buf[i] = 1 // touch every page before timing
	}
	part := len(buf) / threads / 64 * 64
	best := time.Duration(math.MaxInt64)
	for range 3 {
		d := parallel(threads, func(t int) { l.read(buf[t*part : (t+1)*part]) })
		best = min(best, d)
	}
	m.ReadBW = float64(part*threads*4) / best.Seconds()
	return m
}

// rate returns how many iterations of loop per second threads goroutines
// complete together: the iteration count is grown until one run takes 20
// ms, then the best of three runs counts.
func rate(threads int, loop func(n int)) float64 {
	n := 1 << 10
	for {
		if d := parallel(threads, func(int) { loop(n) }); d > 20*time.Millisecond || n > 1<<34 {
			break
		}
		n *= 2
	}
	best := time.Duration(math.MaxInt64)
	for range 3 {
		best = min(best, parallel(threads, func(int) { loop(n) }))
	}
	return float64(n*threads) / best.Seconds()
}

// parallel runs f(0) … f(threads−1) on their own goroutines, each locked
// to its thread, and returns the wall time from the common start to the
// last one's end.
func parallel(threads int, f func(t int)) time.Duration {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(threads)
	done.Add(threads)
	for t := range threads {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			defer done.Done()
			ready.Done()
			<-start
			f(t)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	return time.Since(t0)
}
