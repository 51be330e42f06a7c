package bench_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bench"
)

// The sidecar: what "symauth proxy" adds to a request, against symauth in
// the bot's own process. The proxy is the built binary, run as a bot team
// runs it (its handler lives in package main, which no other module can
// import): the measurement includes the loopback hop and the second
// process.

// proxyClients is the number of concurrent clients of the throughput
// comparison.
const proxyClients = 64

// proxyBenchPath is the endpoint both sides call: behind the server's token
// check, answering a small JSON body, so that the proxy's cost stands out.
const proxyBenchPath = "/pod/v1/bench/ping"

// BenchmarkProxy sends GET requests for a small JSON answer to a
// symauthtest pod on loopback: direct (symauth.NewTransport in this process
// over an http.Transport with one HTTP/2 connection, token cached), through
// "symauth proxy" (a plain HTTP/1.1 client, no token, to the proxy binary on
// loopback, which forwards over the same kind of transport), and through
// the floor of any sidecar (TestProxyFloorChild: a bare ReverseProxy in a
// process of its own). It reports, one request at a time, the median
// latency (p50-ns; the proxy's minus the direct one is what the proxy
// adds), and, from 64 goroutines with a keep-alive connection each, the
// throughput (req/s).
func BenchmarkProxy(b *testing.B) {
	f := newFixture(b, nil, proxyClients)
	f.Server.Handle("GET "+proxyBenchPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	creds := writeCredentials(b, f.Key, f.Server.CACertPEM())
	proxyURL := startProxyBinary(b, f.Server.URL, creds)
	floorURL := startFloor(b, f.Server.URL, creds)

	base := f.Server.Client().Transport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	login, err := f.RSA(nil)
	if err != nil {
		b.Fatal(err)
	}
	direct := symauth.NewTransport(login, base)
	plain := &http.Transport{MaxIdleConnsPerHost: proxyClients, MaxConnsPerHost: proxyClients}
	defer plain.CloseIdleConnections()
	sides := []struct {
		name string
		rt   http.RoundTripper
		url  string
	}{
		{"direct", direct, f.Server.URL + proxyBenchPath},
		{"floor", plain, floorURL + proxyBenchPath},
		{"proxy", plain, proxyURL + proxyBenchPath},
	}
	for _, s := range sides {
		b.Run("latency/"+s.name, func(b *testing.B) {
			if err := ping(s.rt, s.url); err != nil { // logs in, opens the connections
				b.Fatal(err)
			}
			took := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := ping(s.rt, s.url); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2]), "p50-ns")
		})
	}
	for _, s := range sides {
		b.Run("throughput/"+s.name, func(b *testing.B) {
			if err := ping(s.rt, s.url); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism((proxyClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := ping(s.rt, s.url); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// ping sends GET url through rt and reads the answer, which must be 200.
func ping(rt http.RoundTripper, url string) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode}
	}
	return nil
}

// startProxyBinary builds cmd/symauth of the module this one replaces,
// starts "symauth proxy" on a free loopback port for the bot BotUsername
// at pod, and returns its base URL. It is stopped with SIGTERM when tb ends.
func startProxyBinary(tb testing.TB, pod string, creds credentialFiles) string {
	tb.Helper()
	root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/symauth/symauth").Output()
	if err != nil {
		tb.Fatalf("finding the symauth module: %v", err)
	}
	bin := filepath.Join(tb.TempDir(), "symauth")
	build := exec.Command("go", "build", "-o", bin, "./cmd/symauth")
	build.Dir = strings.TrimSpace(string(root))
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building symauth: %v\n%s", err, out)
	}
	return startServing(tb, exec.Command(bin, "proxy", "--pod", pod, "--user", bench.BotUsername,
		"--key", creds.key, "--ca", creds.ca, "--listen", "127.0.0.1:0"))
}

// startFloor starts the floor of a sidecar in a child process (this test
// binary, running TestProxyFloorChild) and returns its base URL. It is
// stopped with SIGTERM when tb ends.
func startFloor(tb testing.TB, pod string, creds credentialFiles) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyFloorChild$", "-test.count=1", "-test.timeout=0")
	cmd.Env = append(os.Environ(), floorEnv+"="+strings.Join([]string{pod, creds.key, creds.ca}, "\n"))
	return startServing(tb, cmd)
}

// floorEnv holds, for the floor's child process, the pod URL, the key file
// and the CA file, one a line.
const floorEnv = "SYMAUTH_BENCH_PROXY_FLOOR"

// TestProxyFloorChild is the floor of BenchmarkProxy in a process of its
// own, and skips when it is not that child: the least any sidecar costs, a
// bare httputil.ReverseProxy on loopback that sets a token it got once on
// every request, over the same kind of transport as the proxy's, without
// anything symauth adds (dropping the client's headers, buffering bodies,
// healing 401s); it reuses its copy buffers, as the proxy does. It stops on SIGTERM.
func TestProxyFloorChild(t *testing.T) {
	spec := os.Getenv(floorEnv)
	if spec == "" {
		t.Skip("the child process of BenchmarkProxy")
	}
	f := strings.Split(spec, "\n")
	pod, _ := url.Parse(f[0])
	keyPEM, err := os.ReadFile(f[1])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f[2])
	if err != nil {
		t.Fatal(err)
	}
	key, err := symauth.ParsePrivateKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	base := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true, MaxIdleConns: 100}
	defer base.CloseIdleConnections()
	login, err := symauth.NewRSA(symauth.RSAConfig{PodURL: f[0], Username: bench.BotUsername, PrivateKey: key, HTTPClient: &http.Client{Transport: base}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := login.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	session := []string{tok.SessionToken}
	rp := &httputil.ReverseProxy{Transport: base, BufferPool: floorBuffers{}, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(pod)
		pr.Out.Header["Sessiontoken"] = session
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rp, ErrorLog: log.New(io.Discard, "", 0)}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	fmt.Fprintf(os.Stderr, "floor: serving on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}

// floorBuffers are the floor's copy buffers, reused as the proxy's are.
type floorBuffers struct{}

var floorBufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (floorBuffers) Get() []byte  { return floorBufferPool.Get().(*[32 << 10]byte)[:] }
func (floorBuffers) Put(b []byte) { floorBufferPool.Put((*[32 << 10]byte)(b)) }

// credentialFiles are the bot's key and the server's CA, in files.
type credentialFiles struct{ key, ca string }

func writeCredentials(tb testing.TB, key any, caPEM []byte) credentialFiles {
	tb.Helper()
	dir := tb.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	c := credentialFiles{key: filepath.Join(dir, "bot-private.pem"), ca: filepath.Join(dir, "ca.pem")}
	if err := os.WriteFile(c.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(c.ca, caPEM, 0o644); err != nil {
		tb.Fatal(err)
	}
	return c
}

// startServing starts cmd, waits for its stderr line "…serving on URL…" and
// returns URL; the rest of its stderr is drained. cmd is stopped with
// SIGTERM when tb ends, and must then exit 0.
func startServing(tb testing.TB, cmd *exec.Cmd) string {
	tb.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	ready := make(chan string, 1)
	drained := make(chan struct{})
	go func() { // the address, then the login lines, until the process ends
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "serving on "); ok {
				ready <- strings.Fields(rest)[0]
			}
		}
		close(ready)
	}()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-drained
		if err := cmd.Wait(); err != nil {
			tb.Errorf("%s did not stop cleanly: %v", cmd.Path, err)
		}
	})
	select {
	case u, ok := <-ready:
		if !ok {
			tb.Fatalf("%s ended before serving", cmd.Path)
		}
		return u
	case <-time.After(time.Minute):
		tb.Fatalf("%s did not start within a minute", cmd.Path)
		return ""
	}
}
