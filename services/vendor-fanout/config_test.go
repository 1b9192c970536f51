package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestDeliveryRetentionIsConfiguredAndValidated(t *testing.T) {
	load := func(retention string) (serviceConfig, error) {
		return loadConfig(nil, func(k string) string {
			if k == "CONSENTRY_DELIVERY_RETENTION" {
				return retention
			}
			return ""
		}, io.Discard)
	}
	c, err := load("")
	if c.Retention != 72*time.Hour {
		t.Errorf("default retention %v, want 72h", c.Retention)
	}
	if err != nil && strings.Contains(err.Error(), "CONSENTRY_DELIVERY_RETENTION") {
		t.Errorf("the default retention is refused: %v", err)
	}
	for _, bad := range []string{"30s", "-1h", "3 days"} {
		if _, err := load(bad); err == nil || !strings.Contains(err.Error(), "CONSENTRY_DELIVERY_RETENTION") {
			t.Errorf("retention %q: error %v does not name CONSENTRY_DELIVERY_RETENTION", bad, err)
		}
	}
	if c, err := load("720h"); c.Retention != 720*time.Hour || (err != nil && strings.Contains(err.Error(), "RETENTION")) {
		t.Errorf("retention 720h: %v, %v", c.Retention, err)
	}
}
