"""Roles and what each one may do. The single table to read when asking "who can…?"."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COMMUNE_LEADER = "commune_leader", _("Lãnh đạo UBND xã")
    ONE_STOP_OFFICER = "one_stop_officer", _("Cán bộ một cửa")
    POLICE_OFFICER = "police_officer", _("Công an xã")
    VILLAGE_HEAD = "village_head", _("Trưởng thôn")
    DIGITAL_TEAM = "digital_team", _("Tổ công nghệ số cộng đồng")
    PRODUCER = "producer", _("Cơ sở sản xuất / HTX")
    EXTENSION_OFFICER = "extension_officer", _("Cán bộ nông nghiệp xã")
    SPECIALIST = "specialist", _("Công chức chuyên môn xã")
    MERCHANT = "merchant", _("Người bán hàng")
    PROVINCE_VIEWER = "province_viewer", _("Cán bộ tỉnh (xem)")
    ADMINISTRATOR = "administrator", _("Quản trị hệ thống")


class Capability(models.TextChoices):
    VIEW_DASHBOARD = "view_dashboard"
    VIEW_PEOPLE = "view_people"  # households, residents, organisations (masked identifiers)
    EDIT_PEOPLE = "edit_people"
    REVEAL_PERSONAL_DATA = "reveal_personal_data"  # unmask a CCCD or phone, audited
    HANDLE_DATA_REQUESTS = "handle_data_requests"  # export or erase a resident's data
    MANAGE_PLACES = "manage_places"  # villages, merges, role grants
    VIEW_AUDIT = "view_audit"
    # Traceability. A producer's rows are further limited to its own organisation.
    VIEW_TRACEABILITY = "view_traceability"
    MANAGE_PRODUCTION = "manage_production"  # areas, diary, products, lots, stamps, recalls
    REGISTER_PRODUCERS = "register_producers"
    CONFIRM_PRODUCTION = "confirm_production"  # countersign, allow a harvest inside an interval
    # Safety. Viewing or exporting a snapshot is a separate, audited capability.
    VIEW_SAFETY = "view_safety"  # cameras, incidents, citizen reports, statistics
    MANAGE_CAMERAS = "manage_cameras"  # register cameras, rules, duty shifts
    HANDLE_INCIDENTS = "handle_incidents"  # acknowledge, dispatch, resolve, close, notes
    VIEW_SNAPSHOTS = "view_snapshots"
    # One-stop shop.
    VIEW_DOSSIERS = "view_dossiers"  # dossiers, receipts, statistics
    RECEIVE_DOSSIERS = "receive_dossiers"  # counter intake, receive, refuse, assign, return
    PROCESS_DOSSIERS = "process_dossiers"  # appraise, request supplement, issue result, pause
    APPROVE_DOSSIERS = "approve_dossiers"  # approve and sign, extend, stop
    ISSUE_RECEIPTS = "issue_receipts"  # payments and e-receipts
    MANAGE_PROCEDURES = "manage_procedures"  # the procedure catalogue and the calendar
    # Community digital team. The team leader (usually the village head) oversees the visits.
    RECORD_VISITS = "record_visits"  # visit households of one's village, offline too
    OVERSEE_VISITS = "oversee_visits"  # the village's progress, follow-ups, resolve conflicts
    # Indicators and criteria.
    VIEW_INDICATORS = "view_indicators"  # dashboards, reports, assessments
    ENTER_INDICATOR_VALUES = "enter_indicator_values"  # hand-entered values, yes/no facts
    CLOSE_PERIODS = "close_periods"  # freeze and sign off a period's values
    MANAGE_INDICATORS = "manage_indicators"  # indicator definitions, targets, criteria sets
    # Notifications: the one a user needs to be alerted (incidents) is VIEW_SAFETY; every
    # signed-in user may register her own channels.


_PEOPLE_OFFICERS = {
    Role.COMMUNE_LEADER,
    Role.ONE_STOP_OFFICER,
    Role.POLICE_OFFICER,
    Role.VILLAGE_HEAD,
    Role.DIGITAL_TEAM,
    Role.ADMINISTRATOR,
}

ROLE_CAPABILITIES: dict[str, set[str]] = {
    Capability.VIEW_DASHBOARD: set(Role),
    Capability.VIEW_PEOPLE: _PEOPLE_OFFICERS,
    Capability.EDIT_PEOPLE: _PEOPLE_OFFICERS,
    Capability.REVEAL_PERSONAL_DATA: {
        Role.COMMUNE_LEADER,
        Role.ONE_STOP_OFFICER,
        Role.POLICE_OFFICER,
        Role.VILLAGE_HEAD,
        Role.ADMINISTRATOR,
    },
    Capability.HANDLE_DATA_REQUESTS: {
        Role.COMMUNE_LEADER,
        Role.ONE_STOP_OFFICER,
        Role.ADMINISTRATOR,
    },
    Capability.MANAGE_PLACES: {Role.ADMINISTRATOR},
    Capability.VIEW_AUDIT: {Role.ADMINISTRATOR},
    Capability.VIEW_TRACEABILITY: {
        Role.COMMUNE_LEADER,
        Role.EXTENSION_OFFICER,
        Role.PRODUCER,
        Role.PROVINCE_VIEWER,
        Role.ADMINISTRATOR,
    },
    Capability.MANAGE_PRODUCTION: {Role.PRODUCER, Role.ADMINISTRATOR},
    Capability.REGISTER_PRODUCERS: {
        Role.COMMUNE_LEADER,
        Role.EXTENSION_OFFICER,
        Role.ADMINISTRATOR,
    },
    Capability.CONFIRM_PRODUCTION: {
        Role.COMMUNE_LEADER,
        Role.EXTENSION_OFFICER,
        Role.ADMINISTRATOR,
    },
    Capability.VIEW_DOSSIERS: {
        Role.COMMUNE_LEADER,
        Role.ONE_STOP_OFFICER,
        Role.SPECIALIST,
        Role.PROVINCE_VIEWER,
        Role.ADMINISTRATOR,
    },
    Capability.RECEIVE_DOSSIERS: {Role.ONE_STOP_OFFICER, Role.ADMINISTRATOR},
    Capability.PROCESS_DOSSIERS: {
        Role.ONE_STOP_OFFICER,
        Role.SPECIALIST,
        Role.COMMUNE_LEADER,
        Role.ADMINISTRATOR,
    },
    Capability.APPROVE_DOSSIERS: {Role.COMMUNE_LEADER, Role.ADMINISTRATOR},
    Capability.ISSUE_RECEIPTS: {Role.ONE_STOP_OFFICER, Role.ADMINISTRATOR},
    Capability.MANAGE_PROCEDURES: {Role.ADMINISTRATOR},
    Capability.VIEW_SAFETY: {
        Role.COMMUNE_LEADER,
        Role.POLICE_OFFICER,
        Role.VILLAGE_HEAD,
        Role.PROVINCE_VIEWER,
        Role.ADMINISTRATOR,
    },
    Capability.MANAGE_CAMERAS: {Role.POLICE_OFFICER, Role.ADMINISTRATOR},
    Capability.HANDLE_INCIDENTS: {
        Role.COMMUNE_LEADER,
        Role.POLICE_OFFICER,
        Role.ADMINISTRATOR,
    },
    Capability.VIEW_SNAPSHOTS: {
        Role.COMMUNE_LEADER,
        Role.POLICE_OFFICER,
        Role.ADMINISTRATOR,
    },
    Capability.RECORD_VISITS: {Role.DIGITAL_TEAM, Role.VILLAGE_HEAD, Role.ADMINISTRATOR},
    Capability.OVERSEE_VISITS: {Role.VILLAGE_HEAD, Role.COMMUNE_LEADER, Role.ADMINISTRATOR},
    Capability.VIEW_INDICATORS: {
        Role.COMMUNE_LEADER,
        Role.VILLAGE_HEAD,
        Role.DIGITAL_TEAM,
        Role.PROVINCE_VIEWER,
        Role.ADMINISTRATOR,
    },
    Capability.ENTER_INDICATOR_VALUES: {Role.COMMUNE_LEADER, Role.ADMINISTRATOR},
    Capability.CLOSE_PERIODS: {Role.COMMUNE_LEADER, Role.ADMINISTRATOR},
    Capability.MANAGE_INDICATORS: {Role.ADMINISTRATOR},
}


def roles_with(capability: str) -> set[str]:
    return {str(role) for role in ROLE_CAPABILITIES[capability]}
