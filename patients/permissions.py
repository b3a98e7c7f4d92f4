from rest_framework import permissions

from .roles import is_admin, is_patient, is_staff_member


class IsStaffMember(permissions.BasePermission):
    message = "Only advice-line staff can do this."

    def has_permission(self, request, view) -> bool:
        return is_staff_member(request.user)


class IsAdminRole(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_admin(request.user)


class IsPatient(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return is_patient(request.user)
