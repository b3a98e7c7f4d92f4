"""The nurse dashboard (/nurse/): the alert queue, the alert page, patient pages with their
timeline, calendar and charts, and the forms that act on alerts and treatment."""
