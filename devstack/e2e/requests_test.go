package e2e

import (
	"testing"

	"github.com/consentry/consentry/devstack/scenarios"
)

// TestPrivacyRequestsEndToEnd sends each type of privacy request through the embedded
// stack over HTTP (scenarios.PrivacyRequests).
func TestPrivacyRequestsEndToEnd(t *testing.T) {
	scenarios.PrivacyRequests(t, startStack(t, ""))
}
