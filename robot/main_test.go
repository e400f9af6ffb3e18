package robot_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jobgate/jobgate/robot"
	"github.com/jobgate/jobgate/sandbox"
	// The test binary is the sandbox init too: the sandboxed executor re-executes it with
	// sandbox.InitCommand, as it re-executes jobgate in production.
	_ "github.com/jobgate/jobgate/sandbox/boot"
)

// testUIDs is the uid range of every sandbox of this test binary: one pool, so that tests
// running at once never share a uid.
var testUIDs = sync.OnceValues(func() (*sandbox.UIDs, error) { return sandbox.NewUIDs(200000, 299999) })

// testSandbox is the sandbox of production (default private directories and limits), with
// this test binary as its init.
func testSandbox(t testing.TB) robot.SandboxConfig {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	uids, err := testUIDs()
	if err != nil {
		t.Fatal(err)
	}
	return robot.SandboxConfig{Init: []string{exe, sandbox.InitCommand}, UIDs: uids}
}

// sharedDir is a t.TempDir that the sandboxed job's uid may enter and write (the test and
// the job exchange files there); its parent is made traversable.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}
