package symauth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// Graceful shutdown: the datafeed loop runs under a context that a signal
// ends. Ending it makes the read in flight — a long poll that would otherwise
// wait up to 30 s for an event — return at once; the loop stops, cleanup
// calls run under a context of their own, then idle connections are closed.
func Example_gracefulShutdown() {
	srv := symauthtest.NewServer() // datafeed reads wait 30 s for an event, as a real agent's
	defer srv.Close()              // harmless after the Close below
	key, err := srv.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.NewUser("alice"); err != nil {
		log.Fatal(err)
	}
	im, err := srv.CreateIM("alice", "my-bot")
	if err != nil {
		log.Fatal(err)
	}

	// A transport of the bot's own, whose connections it closes at the end.
	base := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool()}, ForceAttemptHTTP2: true}
	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: srv.URL, Username: "my-bot", PrivateKey: key, HTTPClient: &http.Client{Transport: base}})
	if err != nil {
		log.Fatal(err)
	}
	transport := symauth.NewTransport(auth, base)
	client := &http.Client{Transport: transport}

	// In a bot: signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	feedID, err := createDatafeed(ctx, client, srv.URL, "my-bot")
	if err != nil {
		log.Fatal(err)
	}
	// Only for the example's output: tell when a read reaches the agent.
	reading := make(chan struct{}, 8)
	srv.InjectFault(symauthtest.PathDatafeedRead(feedID), symauthtest.Fault{Reached: reading, AfterAuth: true})

	handled := make(chan string)
	loopDone := make(chan error, 1)
	go func() {
		ackID := ""
		for {
			// readDatafeed closes every response body it gets.
			events, next, err := readDatafeed(ctx, client, srv.URL, feedID, ackID)
			if err != nil {
				if ctx.Err() != nil {
					loopDone <- ctx.Err()
					return
				}
				loopDone <- err // a real bot waits and retries here
				return
			}
			ackID = next
			for _, e := range events {
				select {
				case handled <- messageText(e.Payload.MessageSent.Message.Message):
				case <-ctx.Done():
				}
			}
		}
	}()

	<-reading
	if _, err := srv.SendMessage("alice", im, "<messageML>hello</messageML>"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("1. handled:", <-handled)
	<-reading
	fmt.Println("2. a read is in flight; the signal comes")
	stop() // what os.Interrupt does to ctx
	fmt.Println("3. loop stopped:", errors.Is(<-loopDone, context.Canceled))

	// ctx has ended: the calls of the shutdown need a context of their own.
	// Deleting the datafeed is optional: with the same tag, a restarted bot
	// gets it back, with the events sent while it was down.
	cleanup, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cleanup, http.MethodDelete, srv.URL+symauthtest.PathDatafeed(feedID), nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("4. datafeed deleted:", resp.Status)

	transport.CloseIdleConnections() // closes base's
	fmt.Println("5. idle connections closed")
	srv.Close() // returns once the server's handlers, the abandoned read's included, have ended
	fmt.Println("6. server closed")
	// Output:
	// 1. handled: hello
	// 2. a read is in flight; the signal comes
	// 3. loop stopped: true
	// 4. datafeed deleted: 204 No Content
	// 5. idle connections closed
	// 6. server closed
}
