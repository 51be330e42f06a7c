package symphonyclient

// client.gen.go is generated from ../api/symphony-subset.yaml with the
// settings in oapi-codegen.yaml. The client knows nothing of logins: give it an
// http.Client whose Transport is symauth's and leave its sessionToken and
// keyManagerToken parameters empty (or pass nil params).
//
// The runtime it imports is pinned in ../go.mod at v1.8.0, the newest release
// that still builds with go 1.25 (v1.9.0 needs go 1.26).

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../api/symphony-subset.yaml
