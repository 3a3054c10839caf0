from django.urls import path

from xaso.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("admin/roles/", views.membership_list, name="memberships"),
    path("admin/users/new/", views.user_new, name="user_new"),
    path("admin/roles/<int:pk>/revoke/", views.membership_delete, name="membership_revoke"),
    path("admin/audit/", views.audit_log, name="audit"),
]
