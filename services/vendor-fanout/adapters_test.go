package main

import (
	"testing"
	"time"

	"github.com/consentry/consentry/services/vendor-fanout/internal/routing"
	"github.com/consentry/consentry/services/vendor-fanout/internal/vendor"
)

// TestBuiltinRoutesAskOnlyWhatAdaptersDo: a route naming an action its vendor's adapter
// does not support would dead-letter every delivery of it. Vendors without an API take
// any action as a manual task.
func TestBuiltinRoutesAskOnlyWhatAdaptersDo(t *testing.T) {
	for _, name := range []string{"default", "seed"} {
		tab, err := routing.Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		env := simEnv("http://127.0.0.1:1")
		adapters, err := buildAdapters(tab, func(k string) string { return env[k] }, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for rule, rules := range map[string]map[string]map[string]vendor.Action{"denied": tab.Denied, "requests": tab.Requests} {
			for key, byType := range rules {
				for typ, action := range byType {
					for _, in := range tab.InstancesFor("consumer")[typ] {
						if in.Manual != nil {
							continue
						}
						if a, ok := adapters[in.Name]; !ok || !a.Supports(action) {
							t.Errorf("%s: %s.%s asks %s to %s, which its adapter does not do", name, rule, key, in.Name, action)
						}
					}
				}
			}
		}
	}
}
