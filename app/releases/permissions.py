from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsOwnerOrStaffOrReadOnly(BasePermission):
    """Anyone reads; an authenticated user creates; only the release's creator
    or staff change or delete it."""

    message = "Only the release's creator or staff may change or delete it."

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        return request.method in SAFE_METHODS or request.user.is_staff or obj.created_by_id == request.user.id
