package schema

import (
	"slices"
	"sync"
)

// Registry maps class names to the descriptors of one kind of object
// (layers, callbacks). Descriptors are added in init functions and looked
// up by the readers (experiment files, Keras JSON, Keras programs).
type Registry[T any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]T
}

// NewRegistry returns an empty registry; kind names it in panics, e.g.
// "layers".
func NewRegistry[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]T{}}
}

// Add registers v under class. It panics on a duplicate: registration
// happens in init functions, where that is a programming error.
func (r *Registry[T]) Add(class string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[class]; dup {
		panic(r.kind + ".Register: " + class + " registered twice")
	}
	r.m[class] = v
}

// Get returns the descriptor of class.
func (r *Registry[T]) Get(class string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[class]
	return v, ok
}

// Names returns the registered class names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
