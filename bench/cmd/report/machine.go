package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes where the numbers were taken.
type machine struct {
	cpu        string // model name
	cores      int    // logical CPUs
	gomaxprocs int
	goVersion  string // of the toolchain that runs go test
	platform   string // GOOS/GOARCH
	load       string // load average (1, 5, 15 min) when the report started
}

func describeMachine() machine {
	m := machine{
		cpu:        cpuModel(),
		cores:      runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		goVersion:  runtime.Version(),
		platform:   runtime.GOOS + "/" + runtime.GOARCH,
		load:       loadAverage(),
	}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	return m
}

// cpuModel reads the model name from /proc/cpuinfo; "unknown" elsewhere.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage reads /proc/loadavg's first three fields; "unknown" elsewhere.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(data)); len(f) >= 3 {
		return strings.Join(f[:3], ", ")
	}
	return "unknown"
}
