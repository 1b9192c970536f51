package main

import (
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/devkit/testkit"
	"github.com/consentry/consentry/schemas"
)

type tasksResponse struct {
	Tasks []struct {
		ID           int64     `json:"id"`
		Vendor       string    `json:"vendor"`
		Action       string    `json:"action"`
		Owner        string    `json:"owner"`
		Instructions string    `json:"instructions"`
		DueAt        time.Time `json:"due_at"`
		Status       string    `json:"status"`
		EventID      string    `json:"event_id"`
	} `json:"manual_tasks"`
}

// TestVendorsWithoutAnAPIGetTrackedManualTasks: a sales-outreach objection opens a task
// for each prospecting vendor, with owner, deadline and instructions; completing one
// produces its receipt; a task is seen only with a key of its tenant.
func TestVendorsWithoutAnAPIGetTrackedManualTasks(t *testing.T) {
	t.Parallel()
	f := start(t, map[string]string{"CONSENTRY_ROUTING": "seed"})
	eventID := f.publish("u_prospect", "pro@example.com", f.deny("sales_outreach"))

	var tasks tasksResponse
	f.waitFor("four open tasks", 60*time.Second, func() bool {
		testkit.Call(t, "GET", f.svc.URL+"/v1/manual-tasks?status=open", testkit.OperatorKey, nil, &tasks)
		return len(tasks.Tasks) == 4
	})
	var vendors []string
	for _, task := range tasks.Tasks {
		vendors = append(vendors, task.Vendor)
		if task.Owner == "" || !strings.Contains(task.Instructions, "docs/vendors/manual.md") || task.EventID != eventID ||
			task.Action != "opt_out" || task.DueAt.Before(time.Now().Add(6*24*time.Hour)) {
			t.Errorf("task %+v lacks an owner, instructions or a deadline", task)
		}
	}
	sort.Strings(vendors)
	if strings.Join(vendors, ",") != "11x,lusha,rb2b,zoominfo" {
		t.Errorf("tasks for %v", vendors)
	}
	// Salesforce has an API but no record id for this person: a skipped receipt, not silence.
	f.waitFor("an accepted receipt per task and salesforce's skip", 60*time.Second, func() bool {
		n, skipped := 0, false
		for _, d := range testkit.ReadAll(t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Receipts) {
			r := d.Event.(*schemas.VendorReceipt)
			if r.Outcome == "accepted" && strings.HasPrefix(r.VendorReference, "task:") {
				n++
			}
			skipped = skipped || (r.Vendor == "salesforce" && r.Outcome == "skipped")
		}
		return n == 4 && skipped
	})

	// The person doing the task sees the identifiers they need; another tenant's key
	// sees neither the task nor them.
	id := tasks.Tasks[0].ID
	taskURL := f.svc.URL + "/v1/manual-tasks/" + strconv.FormatInt(id, 10)
	var ids struct {
		Email string `json:"email"`
	}
	if s := testkit.Call(t, "GET", taskURL+"/identifiers", testkit.OperatorKey, nil, &ids); s != 200 || ids.Email != "pro@example.com" {
		t.Errorf("identifiers: %d %+v", s, ids)
	}
	if strings.Contains(f.svc.Logs.String(), "pro@example.com") {
		t.Error("the disclosure was logged with the address")
	}
	if s := testkit.Call(t, "GET", taskURL, testkit.AcmeDeskKey, nil, nil); s != http.StatusNotFound {
		t.Errorf("another tenant's key reads the task: %d", s)
	}
	if s := testkit.Call(t, "GET", taskURL+"/identifiers", testkit.AcmeDeskKey, nil, nil); s != http.StatusNotFound {
		t.Errorf("another tenant's key opens the task's identifiers: %d", s)
	}
	if s := testkit.Call(t, "POST", taskURL+"/complete", testkit.AcmeDeskKey, `{"completed_by":"mallory"}`, nil); s != http.StatusNotFound {
		t.Errorf("another tenant's key completes the task: %d", s)
	}

	var done struct {
		AlreadyCompleted bool `json:"already_completed"`
		Task             struct {
			Status string `json:"status"`
		} `json:"task"`
	}
	if s := testkit.Call(t, "POST", taskURL+"/complete", testkit.OperatorKey, `{"completed_by":"ops@company","note":"ref ZI-1"}`, &done); s != 200 ||
		done.Task.Status != "completed" || done.AlreadyCompleted {
		t.Fatalf("complete: %d %+v", s, done)
	}
	if s := testkit.Call(t, "POST", taskURL+"/complete", testkit.OperatorKey, `{"completed_by":"ops@company"}`, &done); s != 200 || !done.AlreadyCompleted {
		t.Errorf("second complete: %d %+v", s, done)
	}
	vendor := tasks.Tasks[0].Vendor
	f.waitFor("the completed receipt", 60*time.Second, func() bool {
		for _, d := range testkit.ReadAll(t, f.stack.Kafka.Brokers, f.stack.RegistryURL, f.stack.Kafka.Topics.Receipts) {
			if r := d.Event.(*schemas.VendorReceipt); r.Vendor == vendor && r.Outcome == "completed" {
				return true
			}
		}
		return false
	})
	testkit.Call(t, "GET", f.svc.URL+"/v1/manual-tasks?status=open", testkit.OperatorKey, nil, &tasks)
	if len(tasks.Tasks) != 3 {
		t.Errorf("%d open tasks after completing one, want 3", len(tasks.Tasks))
	}
	resp, err := http.Get(f.svc.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var metrics strings.Builder
	_, _ = io.Copy(&metrics, resp.Body)
	if !strings.Contains(metrics.String(), `consentry_fanout_manual_tasks_overdue{vendor="zoominfo"}`) {
		t.Error("metrics lack the overdue-task gauge")
	}
}
