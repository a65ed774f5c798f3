"""The year's holiday schedule (放假安排) as the State Council publishes it, entered by an admin for a
year chinese-calendar does not know yet; labs.workdays answers from it for that year."""
