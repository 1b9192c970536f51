package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
)

const (
	tasksReader       = "tasks-read-key-0123456789"
	identifiersReader = "ids-read-key-0123456789ab"
	tasksWriter       = "tasks-write-key-012345678"
)

// The attack: a key meant to post consents, or a tenant's product key, reads a subject's
// opened identifiers through a manual task, or completes an erasure task (which can start
// shredding). Each is refused naming the permission it lacks; each permission lets its
// holder through to its own route and no further.
func TestManualTasksNeedTheirPermissions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testkit.NewStack(t))
	f.run(map[string]string{"CONSENTRY_ROUTING": "seed", "CONSENTRY_API_KEYS": f.stack.Env["CONSENTRY_API_KEYS"] +
		",tr:" + tasksReader + ":consumer:tasks:read,ir:" + identifiersReader + ":consumer:identifiers:read,tw:" + tasksWriter + ":consumer:tasks:write"})
	f.publish("u_prospect", "pro@example.com", f.deny("sales_outreach"))

	var tasks tasksResponse
	f.waitFor("four open tasks", 60*time.Second, func() bool {
		testkit.Call(t, "GET", f.svc.URL+"/v1/manual-tasks?status=open", testkit.OperatorKey, nil, &tasks)
		return len(tasks.Tasks) == 4
	})
	list := f.svc.URL + "/v1/manual-tasks?status=open"
	task := f.svc.URL + "/v1/manual-tasks/" + strconv.FormatInt(tasks.Tasks[0].ID, 10)
	for _, key := range []string{testkit.ConsentsKey, testkit.PlainKey, testkit.APIKey} {
		testkit.WantForbidden(t, "GET", list, key, nil, "tasks:read")
		testkit.WantForbidden(t, "GET", task, key, nil, "tasks:read")
		testkit.WantForbidden(t, "GET", task+"/identifiers", key, nil, "identifiers:read")
		testkit.WantForbidden(t, "POST", task+"/complete", key, `{"completed_by":"mallory"}`, "tasks:write")
		testkit.WantForbidden(t, "GET", f.svc.URL+"/v1/dead-letters", key, nil, "dead-letters:read")
		testkit.WantForbidden(t, "GET", f.svc.URL+"/v1/vendors", key, nil, "operator")
		testkit.WantForbidden(t, "POST", f.svc.URL+"/v1/vendors/sendgrid/backfill", key, nil, "operator")
	}
	testkit.Call(t, "GET", list, testkit.OperatorKey, nil, &tasks)
	if len(tasks.Tasks) != 4 {
		t.Fatalf("%d open tasks after the refused completions, want 4", len(tasks.Tasks))
	}

	if s := testkit.Call(t, "GET", list, tasksReader, nil, &tasks); s != http.StatusOK || len(tasks.Tasks) != 4 {
		t.Errorf("tasks:read lists: %d, %d tasks", s, len(tasks.Tasks))
	}
	if s := testkit.Call(t, "GET", task, tasksReader, nil, nil); s != http.StatusOK {
		t.Errorf("tasks:read reads one: %d", s)
	}
	testkit.WantForbidden(t, "GET", task+"/identifiers", tasksReader, nil, "identifiers:read")
	testkit.WantForbidden(t, "POST", task+"/complete", tasksReader, `{"completed_by":"ops@company"}`, "tasks:write")
	var ids struct {
		Email string `json:"email"`
	}
	if s := testkit.Call(t, "GET", task+"/identifiers", identifiersReader, nil, &ids); s != http.StatusOK || ids.Email != "pro@example.com" {
		t.Errorf("identifiers:read opens them: %d", s)
	}
	testkit.WantForbidden(t, "GET", list, identifiersReader, nil, "tasks:read")
	if s := testkit.Call(t, "POST", task+"/complete", tasksWriter, `{"completed_by":"ops@company"}`, nil); s != http.StatusOK {
		t.Errorf("tasks:write completes: %d", s)
	}
	testkit.WantForbidden(t, "GET", task+"/identifiers", tasksWriter, nil, "identifiers:read")
}
