package server

import "net/http"

// Document serves a service's OpenAPI document (GET /openapi.yaml on the public
// listener). It is public: it describes the API, it holds no data.
func Document(spec []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(spec)
	})
}
