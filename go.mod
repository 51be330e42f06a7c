module github.com/symauth/symauth

go 1.25

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/pavlo-v-chernykh/keystore-go/v4 v4.5.0
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/crypto v0.48.0
	software.sslmate.com/src/go-pkcs12 v0.7.4
)

require github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
