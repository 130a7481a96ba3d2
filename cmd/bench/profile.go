package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profileCPU saves a CPU profile of the server taken over d (it runs while
// wrk loads the server) and prints its top.
func (b *bench) profileCPU(ctx context.Context, addr string, d time.Duration) error {
	return b.saveProfile(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())), "cpu.pprof", "-top")
}

// profileAllocs saves the server's allocations since it started and prints
// their top by bytes.
func (b *bench) profileAllocs(ctx context.Context, addr string) error {
	return b.saveProfile(ctx, "http://"+addr+"/debug/pprof/allocs", "allocs.pprof", "-top", "-sample_index=alloc_space")
}

func (b *bench) saveProfile(ctx context.Context, url, name string, flags ...string) error {
	if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	file := filepath.Join(b.o.profile, name)
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	top, err := exec.CommandContext(ctx, "go", append(append([]string{"tool", "pprof"}, flags...), "-nodecount=25", b.o.server, file)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go tool pprof %s: %w\n%s", file, err, top)
	}
	fmt.Printf("  %s (saved in %s):\n    %s\n", name, file, strings.ReplaceAll(strings.TrimSpace(string(top)), "\n", "\n    "))
	return nil
}
