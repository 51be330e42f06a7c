package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// PerConn is how many requests a ConnPool sends on one HTTP/2 connection at a
// time: below the 250 concurrent streams a Go server allows by default.
const PerConn = 200

// ConnPool is an http.RoundTripper that sends every request over a fixed set
// of HTTP/2 connections opened in advance, at most PerConn at a time on each;
// a request that finds them all busy waits for a slot.
//
// It exists because Go's http.Transport, when its HTTP/2 connection is at the
// server's stream limit, dials a new connection for each further request (the
// Transport.HTTP2.StrictMaxConcurrentRequests switch that makes it wait
// instead needs Go 1.26). Ten thousand requests in flight then cost
// thousands of TLS dials and run out of file descriptors (ulimit -n is 20 000
// on the CI machine, client and server sides counting in one process); over a
// ConnPool they take ten thousand/PerConn connections.
//
// A request's slot is freed when its response body is closed (or on error).
// ConnPool is safe for concurrent use.
type ConnPool struct {
	conns []*pooledConn
	next  atomic.Uint64
}

type pooledConn struct {
	tr    *http.Transport
	slots chan struct{} // one element per request in flight
}

// NewConnPool returns a pool of conns connections (at least 1), each its own
// clone of template. Call Open before use to dial them.
func NewConnPool(template *http.Transport, conns int) *ConnPool {
	p := &ConnPool{}
	for range max(conns, 1) {
		p.conns = append(p.conns, &pooledConn{tr: template.Clone(), slots: make(chan struct{}, PerConn)})
	}
	return p
}

// ConnsFor is the number of connections a ConnPool needs for n requests in
// flight at once, with one to spare.
func ConnsFor(n int) int { return (n+PerConn-1)/PerConn + 1 }

// Open opens every connection, one after the other, with a GET of url (which
// must answer without a token), so that no request later waits for a dial or
// causes one.
func (p *ConnPool) Open(ctx context.Context, url string) error {
	for i, c := range p.conns {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.tr.RoundTrip(req)
		if err != nil {
			return fmt.Errorf("bench: opening connection %d: %w", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.ProtoMajor != 2 {
			return fmt.Errorf("bench: connection %d speaks %s, not HTTP/2", i, resp.Proto)
		}
	}
	return nil
}

// RoundTrip implements http.RoundTripper: the request goes to the next
// connection, round-robin, that has a free slot; if none has, it waits for a
// slot on the next one.
func (p *ConnPool) RoundTrip(req *http.Request) (*http.Response, error) {
	first := p.next.Add(1)
	for i := range uint64(len(p.conns)) {
		c := p.conns[(first+i)%uint64(len(p.conns))]
		select {
		case c.slots <- struct{}{}:
			return c.send(req)
		default:
		}
	}
	c := p.conns[first%uint64(len(p.conns))]
	select {
	case c.slots <- struct{}{}:
		return c.send(req)
	case <-req.Context().Done():
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, req.Context().Err()
	}
}

// send sends req on c, whose slot the caller holds.
func (c *pooledConn) send(req *http.Request) (*http.Response, error) {
	resp, err := c.tr.RoundTrip(req)
	if err != nil {
		<-c.slots
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: sync.OnceFunc(func() { <-c.slots })}
	return resp, nil
}

// CloseIdleConnections closes every connection that carries no request.
func (p *ConnPool) CloseIdleConnections() {
	for _, c := range p.conns {
		c.tr.CloseIdleConnections()
	}
}

// releasingBody frees its request's slot when closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
