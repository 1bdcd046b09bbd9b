package paste

import (
	"fmt"
	"os"
	"testing"
)

func TestDump(t *testing.T) {
	f := os.Getenv("DUMP")
	if f == "" {
		t.Skip()
	}
	b, _ := os.ReadFile(f)
	q, err := Split(f, b)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Print(dump(q, string(b)))
}
