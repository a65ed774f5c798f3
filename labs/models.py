"""Every table, imported in one place so Alembic and tests see the whole schema."""
from booking.models import Booking, BookingDocument, WaitlistEntry  # noqa: F401
from labs.accounts.models import ApiToken, Enterprise, SignInFailure, User, UserSession  # noqa: F401
from labs.audit import AuditEntry  # noqa: F401
from labs.calendar.models import HolidayDay  # noqa: F401
from labs.catalog.models import Closure, Instrument, Lab, OpeningHours  # noqa: F401
from labs.db import Base
from labs.dispatch.models import Assignment, StaffedWeekendDay, WorkOrder  # noqa: F401
from labs.field.models import FieldDevice, FieldRecord, FieldRun  # noqa: F401
from labs.notify import Notification  # noqa: F401
from labs.services.models import (Pause, RequestInstrument, ServiceRequest, ServiceSetting, Step,  # noqa: F401
                                  TaxiTicket)
from labs.spotchecks.models import (CreditExport, Nomination, Plan, PublishedResult, Region,  # noqa: F401
                                    RegistryEntity, RegistryInspector, RegistryInstrument, Task,
                                    TaskInstrument, Witness)
from labs.verification.models import (Certificate, CertificateBlock, Procedure, Reading, Result, Rig,  # noqa: F401
                                      Verification, VerifiedInstrument)

metadata = Base.metadata
