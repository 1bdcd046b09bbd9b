package main

import (
	"context"
	"os"
	"testing"
)

// asKiln, when set in the environment, makes the test binary behave as the
// kiln command, so tests can run kiln as a separate process (kiln bench
// --workload sweep runs os.Executable()).
const asKiln = "KILN_TEST_AS_KILN"

func TestMain(m *testing.M) {
	if os.Getenv(asKiln) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	if os.Getenv(asKiln) == "main" { // as the command, signal handling included
		os.Exit(mainCode())
	}
	os.Exit(m.Run())
}
