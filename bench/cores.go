package bench

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// CoreRoundTrip measures how long a cache line takes to go from one core
// to another and back: two goroutines, each locked to its own thread,
// take turns writing a counter the other is waiting for, rounds times, and
// it returns the mean round trip (0 on a machine with one CPU). On Linux
// the threads are pinned to the first two CPUs the process may use; elsewhere
// they run where the system puts them. Every exchange
// between a training step's threads pays this latency (a job handed out,
// data written on one core and read on another), so it bounds how well a
// step scales: on a 2-vCPU cloud VM it was 200–240 ns at some times and
// about 1000 ns at others (the two vCPUs then apparently on cores far
// apart), the cnn's two-thread speed-up 1.8–1.9× and 1.4–1.7× with them.
func CoreRoundTrip(rounds int) time.Duration {
	if runtime.NumCPU() < 2 || rounds < 1 {
		return 0
	}
	if prev := runtime.GOMAXPROCS(0); prev < 2 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(prev)
	}
	var ping, pong struct {
		v atomic.Int64
		_ [56]byte // each counter on its own cache line
	}
	// await spins until c holds i (yielding now and then: the other
	// thread may share this core).
	await := func(c *atomic.Int64, i int64) {
		for n := 0; c.Load() != i; n++ {
			if n&(1<<20-1) == 1<<20-1 {
				runtime.Gosched()
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	start := make(chan struct{})
	var d time.Duration
	// The threads stay locked: they end with their goroutines, so their
	// pinned affinity is never reused.
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		pinThread(0)
		<-start
		t0 := time.Now()
		for i := int64(1); i <= int64(rounds); i++ {
			ping.v.Store(i)
			await(&pong.v, i)
		}
		d = time.Since(t0)
	}()
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		pinThread(1)
		<-start
		for i := int64(1); i <= int64(rounds); i++ {
			await(&ping.v, i)
			pong.v.Store(i)
		}
	}()
	close(start)
	wg.Wait()
	return d / time.Duration(rounds)
}
