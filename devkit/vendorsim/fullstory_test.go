package vendorsim_test

import (
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/vendorsim"
)

func TestFullStory(t *testing.T) {
	e := start(t, vendorsim.Options{JobDelay: 10 * time.Second})
	auth := []string{"Authorization", "Basic na1.raw-api-key"}
	const byUID = "/fullstory/v2/users?uid=u-1"
	var id string
	// GET /v2/users?uid= is ListUsers: the user is the one result.
	user := func(wantDeleting bool) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			list := decode[struct {
				Results      []map[string]any `json:"results"`
				TotalRecords string           `json:"total_records"`
			}](t, r.body)
			if len(list.Results) != 1 || list.TotalRecords != "1" {
				t.Fatalf("list = %s, want one result and total_records \"1\"", r.body)
			}
			b := list.Results[0]
			if b["uid"] != "u-1" || b["is_being_deleted"] != wantDeleting || b["id"] == "" {
				t.Errorf("user = %s, want uid u-1 with is_being_deleted %v", r.body, wantDeleting)
			}
			if got, _ := b["id"].(string); id == "" {
				id = got
			} else if got != id {
				t.Errorf("id = %q, want the stable %q", got, id)
			}
		}
	}
	notFound := func(t *testing.T, r resp) {
		if b := decode[map[string]string](t, r.body); b["code"] != "resource_not_found" || b["message"] == "" {
			t.Errorf("body = %s, want resource_not_found", r.body)
		}
	}
	run(t, e, []step{
		{name: "no auth", method: "DELETE", path: byUID, want: 401, check: func(t *testing.T, r resp) {
			if c := decode[map[string]string](t, r.body)["code"]; c != "unauthorized" {
				t.Errorf("code = %q", c)
			}
		}},
		{name: "empty key", method: "DELETE", path: byUID, header: []string{"Authorization", "Basic "}, want: 401},
		{name: "bearer is not accepted", method: "DELETE", path: byUID, header: []string{"Authorization", "Bearer k"}, want: 401},
		{name: "no uid", method: "DELETE", path: "/fullstory/v2/users", header: auth, want: 400, check: func(t *testing.T, r resp) {
			if c := decode[map[string]string](t, r.body)["code"]; c != "required_field" {
				t.Errorf("code = %q", c)
			}
		}},
		{name: "exists before", method: "GET", path: byUID, header: auth, want: 200, check: user(false)},
		{name: "delete", method: "DELETE", path: byUID, header: auth, want: 200, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{}`)
		}},
		{name: "being deleted", method: "GET", path: byUID, header: auth, want: 200, check: user(true)},
		{name: "delete while deleting", method: "DELETE", path: byUID, header: auth, advance: 5 * time.Second, want: 200},
		{name: "gone", method: "GET", path: byUID, header: auth, advance: 5 * time.Second, want: 200, check: func(t *testing.T, r resp) {
			jsonEqual(t, r.body, `{"results":[],"total_records":"0","next_page_token":""}`)
		}},
		{name: "delete again: already gone", method: "DELETE", path: byUID, header: auth, want: 404, check: notFound},
		{name: "delete by id", method: "DELETE", path: "/fullstory/v2/users/1234567", header: auth, want: 200},
		{name: "by id being deleted", method: "GET", path: "/fullstory/v2/users/1234567", header: auth, want: 200,
			check: func(t *testing.T, r resp) {
				jsonEqual(t, r.body, `{"id":"1234567","uid":"","is_being_deleted":true}`)
			}},
	})
	t.Run("read by id names the uid", func(t *testing.T) {
		e := start(t, vendorsim.Options{})
		first := e.do(t, "GET", byUID, "", auth...)
		list := decode[struct {
			Results []map[string]any `json:"results"`
		}](t, first.body)
		if len(list.Results) != 1 {
			t.Fatalf("list = %s, want one result", first.body)
		}
		id, _ := list.Results[0]["id"].(string)
		r := e.do(t, "GET", "/fullstory/v2/users/"+id, "", auth...)
		jsonEqual(t, r.body, `{"id":"`+id+`","uid":"u-1","is_being_deleted":false}`)
	})
}
