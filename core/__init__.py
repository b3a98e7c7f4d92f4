"""The base layer every app may use. It imports no app of this project: API helpers
(strict serializers, JSON error answers), middleware, enqueue-on-commit, bulk SQL and the
accessible form mixin."""
