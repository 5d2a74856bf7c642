"""SMS gateway simulator (port 8012): records every text it is asked to send, so demos and tests
can read one-time codes back, and stands in for the carriers' real-name check of a phone (is
this phone registered to this name and ID number?)."""
