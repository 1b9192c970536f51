package apispec

import (
	"errors"
	"os"
	"path/filepath"
)

// Services are the services that serve an OpenAPI document, each at
// services/<name>/openapi.yaml.
var Services = []string{"consent-ingest", "unsubscribe-handler", "vendor-fanout", "audit-sink"}

// LoadRepo loads every service's document from the repository that holds dir (found by
// walking up to go.work).
func LoadRepo(dir string) ([]*Doc, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return nil, errors.New("apispec: no go.work above " + dir)
		}
		root = parent
	}
	var docs []*Doc
	for _, name := range Services {
		b, err := os.ReadFile(filepath.Join(root, "services", name, "openapi.yaml"))
		if err != nil {
			return nil, err
		}
		d, err := Load(name, b)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}
