package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A --config path that is not a readable configuration file — missing, a
// device, larger than 4 MiB — is refused at once by every command, naming the
// path, and check's advice is about the path, not about a key in the file.
func TestConfigFileUnreadable(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 5<<20); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ path, want, advice string }{
		{filepath.Join(t.TempDir(), "none.yaml"), "no such file", "check the path given to --config"},
		{big, big + " is larger than 4 MiB", "no configuration file is that large: check the path given to --config"},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases = append(cases, struct{ path, want, advice string }{"/dev/zero", "/dev/zero is not a regular file (a device)", "--config needs the path of a file"})
	}
	for _, tc := range cases {
		for _, cmd := range []string{"token", "whoami"} {
			if r := runCLI(t, cmd, "--config", tc.path); r.code != exitFail || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("%s --config %s: exit %d, stderr %q; want %q", cmd, tc.path, r.code, r.stderr, tc.want)
			}
		}
		r, steps := runCheckCmd(t, "--config", tc.path)
		wantStep(t, r.stdout, steps, "FAIL", "config", tc.want, tc.advice)
		if strings.Contains(r.stdout, "fix the key named above") {
			t.Errorf("check --config %s: advice about a key:\n%s", tc.path, r.stdout)
		}
	}
}
