"""Every mapped table, imported in one place so that metadata is complete."""

from app.auth.models import Account, AuthorizationCode, OAuthClient, OutboxMessage, PasswordReset, RefreshToken
from app.auth.tokens import SigningKey
from app.core.audit import platform_audit, tenant_audit
from app.core.idempotency import platform_keys, tenant_keys
from app.core.jobs import Job
from app.core.keystore import DataKey
from app.core.numbering import NumberSeries
from app.core.tenant_settings import TenantSetting
from app.domains.access.models import Role, RoleAssignment
from app.domains.approvals.models import ApprovalAction, ApprovalChain, ApprovalRequest, ApprovalStepApprover
from app.domains.audit.models import AuditRecord
from app.domains.customers.models import Customer, CustomerConsent, CustomerContact, CustomerImport, CustomerUnit
from app.domains.inquiries.models import Inquiry, InquiryTransfer
from app.domains.org.models import OrgNode, Unit
from app.tenants.models import Tenant

# Domains whose tables are not named one by one above: importing the module registers them.
import app.domains.interactions.models  # noqa: E402,F401
import app.domains.surveys.models  # noqa: E402,F401
import app.domains.grading.models  # noqa: E402,F401
import app.domains.calendars.models  # noqa: E402,F401
import app.domains.complaints.models  # noqa: E402,F401
import app.domains.archives.models  # noqa: E402,F401

__all__ = [
    "Account", "AuditRecord", "Customer", "CustomerConsent", "CustomerContact", "CustomerImport", "CustomerUnit",
    "DataKey", "Inquiry", "InquiryTransfer", "NumberSeries", "TenantSetting", "AuthorizationCode", "Job", "OAuthClient", "OrgNode", "OutboxMessage", "PasswordReset",
    "RefreshToken", "Role", "RoleAssignment", "SigningKey", "Tenant", "Unit", "platform_audit", "platform_keys", "tenant_audit", "tenant_keys",
]
