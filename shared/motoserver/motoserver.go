// Package motoserver starts moto's server (the Python moto package's
// stand-in for AWS services) for a test, on loopback.
package motoserver

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// running is the line where moto's server names its address.
var running = regexp.MustCompile(`Running on (http://127\.0\.0\.1:[0-9]+)`)

// Start starts a moto server of its own for t and returns its endpoint;
// it stops when t ends. Without moto_server on the PATH the test is
// skipped, except in CI (CI=true), where it fails.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("moto_server is not on the PATH (pip install 'moto[server]')")
		}
		t.Skip("moto_server is not on the PATH")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-H", "127.0.0.1", "-p", "0")
	out, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if m := running.FindStringSubmatch(s.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		for s.Scan() { // keep reading, so that moto never blocks on its log
		}
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(30 * time.Second):
		t.Fatal("moto_server did not start within 30 s")
		return ""
	}
}
