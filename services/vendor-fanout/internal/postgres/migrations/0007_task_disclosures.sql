-- Every time a manual task's identifiers were shown to someone: who, when, which task.
-- Written in the same transaction as the audit receipt announcing it and before the
-- identifiers are returned, so no disclosure goes unrecorded (docs/console.md).
CREATE TABLE fanout.task_disclosures (
    id           bigserial PRIMARY KEY,
    task_id      bigint NOT NULL REFERENCES fanout.manual_tasks (id),
    disclosed_to text NOT NULL,
    disclosed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_disclosures_task ON fanout.task_disclosures (task_id, disclosed_at);
