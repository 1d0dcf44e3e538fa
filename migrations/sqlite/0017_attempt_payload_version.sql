-- An attempt records the payload version its body was rendered for rather
-- than the body: the body is the event's data in that version (the same for
-- every attempt of the event at that version), and storing it made up most
-- of each attempt row, written once per attempt of every fan-out.
ALTER TABLE attempts ADD COLUMN payload_version TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts DROP COLUMN request_body;
