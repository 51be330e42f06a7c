module github.com/symauth/symauth/bench

go 1.25

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/symauth/symauth v0.0.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.35.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	golang.org/x/crypto v0.48.0 // indirect
	software.sslmate.com/src/go-pkcs12 v0.7.4 // indirect
)

replace github.com/symauth/symauth => ../
