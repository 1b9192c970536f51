// Package hubspotcontacts reads a HubSpot contact's email address by its record ID, the
// one thing HubSpot's webhook events name a contact by (docs/vendors/hubspot.md):
// GET {base}/crm/v3/objects/contacts/{id}?properties=email with the tenant's token.
package hubspotcontacts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

var (
	// ErrNotFound: HubSpot has no such contact (deleted, or merged away), or it has no
	// address. Nothing can be done with the event; it is skipped.
	ErrNotFound = errors.New("HubSpot has no contact with an address under that ID")
	// ErrUnavailable: HubSpot could not answer now (5xx, 429, no connection) or refused our
	// credentials. The webhook is answered 503 so that HubSpot delivers it again.
	ErrUnavailable = errors.New("HubSpot could not be read")
)

// Client reads contacts. The zero HTTP uses a client with a short timeout: HubSpot waits
// only seconds for the webhook's answer.
type Client struct {
	BaseURL string
	HTTP    *http.Client
}

var defaultHTTP = &http.Client{Timeout: 5 * time.Second}

// Email returns the address of contact id. Errors never hold the address, the token or
// the URL.
func (c *Client) Email(ctx context.Context, token string, id int64) (string, error) {
	u := strings.TrimRight(c.BaseURL, "/") + "/crm/v3/objects/contacts/" + strconv.FormatInt(id, 10) + "?properties=email"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL names the contact
		}
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound:
		return "", ErrNotFound
	case res.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%w: status %d", ErrUnavailable, res.StatusCode)
	}
	var body struct {
		Properties struct {
			Email *string `json:"email"`
		} `json:"properties"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("%w: the answer is not a contact", ErrUnavailable)
	}
	if body.Properties.Email == nil || strings.TrimSpace(*body.Properties.Email) == "" {
		return "", ErrNotFound
	}
	return strings.TrimSpace(*body.Properties.Email), nil
}
