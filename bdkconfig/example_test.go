package bdkconfig_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"

	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/symauthtest"
)

// A bot configured by the BDK 2.x YAML file it already has.
func ExampleLoad() {
	pod := symauthtest.NewServer()
	defer pod.Close()
	key, _ := pod.NewUser("my-bot")
	dir, _ := os.MkdirTemp("", "symauth-example")
	defer os.RemoveAll(dir)
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	_ = os.WriteFile(filepath.Join(dir, "bot-private.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "ca.pem"), pod.CACertPEM(), 0o644)
	u, _ := url.Parse(pod.URL)
	config := fmt.Sprintf(`
host: %s
port: %s
bot:
  username: my-bot
  privateKey:
    path: bot-private.pem   # relative to the file
ssl:
  trustStore:
    path: ca.pem
datafeed:                   # other sections are ignored
  version: v2
`, u.Hostname(), u.Port())
	_ = os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(config), 0o644)

	cfg, err := bdkconfig.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		log.Fatal(err)
	}
	client, err := cfg.HTTPClient() // trust store, proxy and tokens from the file
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Get(cfg.PodURL() + "/pod/v2/sessioninfo")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}
