package bench

import (
	"syscall"
	"unsafe"
)

// pinThread restricts the calling thread to the i-th CPU the process may
// run on (its affinity mask's i-th set bit), reporting whether it could.
// The caller must have locked its goroutine to the thread, and must not
// unlock it: the thread then ends with the goroutine and its narrowed
// affinity is never reused.
func pinThread(i int) bool {
	var mask [16]uint64 // 1024 CPUs
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_GETAFFINITY, 0, unsafe.Sizeof(mask), uintptr(unsafe.Pointer(&mask[0]))); e != 0 {
		return false
	}
	for cpu := range len(mask) * 64 {
		if mask[cpu/64]>>(cpu%64)&1 == 0 {
			continue
		}
		if i > 0 {
			i--
			continue
		}
		var one [16]uint64
		one[cpu/64] = 1 << (cpu % 64)
		_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(one), uintptr(unsafe.Pointer(&one[0])))
		return e == 0
	}
	return false
}
