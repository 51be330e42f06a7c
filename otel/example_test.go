package symauthotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/symauth/symauth"
	symauthotel "github.com/symauth/symauth/otel"
	"github.com/symauth/symauth/symauthtest"
)

// One call wires a Session; LoginClient makes the login calls child spans.
func ExampleInstrumentation_SessionOptions() {
	pod := symauthtest.NewServer()
	defer pod.Close()
	key, _ := pod.NewUser("my-bot")

	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	o, err := symauthotel.New(symauthotel.Config{TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}

	auth, _ := symauth.NewRSA(symauth.RSAConfig{PodURL: pod.URL, Username: "my-bot", PrivateKey: key,
		HTTPClient: o.LoginClient(pod.Client())})
	sess := symauth.NewSessionWithOptions(auth, o.SessionOptions(symauth.SessionOptions{}))
	client := &http.Client{Transport: symauth.NewTransport(sess, pod.Client().Transport)}
	resp, err := client.Get(pod.URL + "/pod/v2/sessioninfo")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	for _, s := range spans.GetSpans() {
		fmt.Println(s.Name)
	}
	// Unordered output:
	// HTTP POST
	// HTTP POST
	// symauth.login
}
