"""Every reason code of the system, defined once: why a request is refused (:class:`Reason`),
what a receipt scan found (:class:`ScanReason`), why the dose gate stops a dose
(:class:`DoseReason`) and what it warns of (:class:`DoseWarning`).

A reason is a stable snake_case code for machines (the ``reason`` of every problem+json
answer); its HTTP status is in the one map ``vaxtrace.web.problems.STATUS``. Where two enums
name the same thing, the second takes the first's value, so each code is written here once.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a request is refused."""

    ALREADY_COMMISSIONED = "already_commissioned"
    ALREADY_IN_STOCK = "already_in_stock"
    ALREADY_PACKED = "already_packed"
    ALREADY_RELEASED = "already_released"
    ALREADY_REPLACED = "already_replaced"
    ALREADY_SHIPPED = "already_shipped"
    ALREADY_UNDONE = "already_undone"
    ALREADY_USED = "already_used"
    AMBIGUOUS_NOTE = "ambiguous_note"
    BAD_COSIGNATURE = "bad_cosignature"
    BAD_EVENT_TYPE = "bad_event_type"
    BAD_SIGNATURE = "bad_signature"
    BAD_SYSTEM_ID = "bad_system_id"
    BAD_TREE_SIZES = "bad_tree_sizes"
    BATCH_EXISTS = "batch_exists"
    BATCH_INSPECTED = "batch_inspected"
    BATCH_MISMATCH = "batch_mismatch"
    BATCH_SIZE = "batch_size"
    BEFORE_LOT_RELEASE = "before_lot_release"
    BEFORE_PREVIOUS_STEP = "before_previous_step"
    BEFORE_PRODUCTION = "before_production"
    BEFORE_SHIPMENT = "before_shipment"
    BIRTH_IN_FUTURE = "birth_in_future"
    BODY_TOO_LARGE = "body_too_large"
    BUSY = "busy"
    CA_EXISTS = "ca_exists"
    CERTIFICATE_FILE_MISMATCH = "certificate_file_mismatch"
    CERTIFICATE_MISMATCH = "certificate_mismatch"
    CERTIFICATE_REVOKED = "certificate_revoked"
    CERTIFICATE_TOO_LARGE = "certificate_too_large"
    CLIENT_DOCUMENT_ID_REUSED = "client_document_id_reused"
    CONSIGNEE_NOT_CDC = "consignee_not_cdc"
    CONTROL_CHARACTER = "control_character"
    DAMAGED = "damaged"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DESTROYED = "destroyed"
    DOSE_AFTER_ASSESSMENT = "dose_after_assessment"
    DOSE_BEFORE_BIRTH = "dose_before_birth"
    DUPLICATE_CODE = "duplicate_code"
    DUPLICATE_READING_TIME = "duplicate_reading_time"
    EXCEEDS_BATCH_QUANTITY = "exceeds_batch_quantity"
    EXCURSION_DECIDED = "excursion_decided"
    EXPIRED = "expired"
    FAMILY_MISMATCH = "family_mismatch"
    FILE_NOT_UTF8 = "file_not_utf8"
    FILE_TOO_LARGE = "file_too_large"
    IDENTIFICATION_CODE_TAKEN = "identification_code_taken"
    ILLEGAL_TRANSITION = "illegal_transition"
    IMPLAUSIBLE_TEMPERATURE = "implausible_temperature"
    IN_FUTURE = "in_future"
    IN_TRANSIT = "in_transit"
    INVALID_CELSIUS = "invalid_celsius"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_SEX = "invalid_sex"
    INVALID_TIME = "invalid_time"
    INVALID_UTF8 = "invalid_utf8"
    LEVEL_MISMATCH = "level_mismatch"
    LISTED_TWICE = "listed_twice"
    LOCKED = "locked"
    MALFORMED_DOCUMENT = "malformed_document"
    MALFORMED_ENVELOPE = "malformed_envelope"
    MALFORMED_FINDING = "malformed_finding"
    MALFORMED_NOTE = "malformed_note"
    MALFORMED_PAYLOAD = "malformed_payload"
    MALFORMED_REFUSAL = "malformed_refusal"
    MALFORMED_SCHEDULE = "malformed_schedule"
    MALFORMED_STEP = "malformed_step"
    MISSING_CERTIFICATE = "missing_certificate"
    MISSING_CUSTOMS_CLEARANCE = "missing_customs_clearance"
    MIXED_BATCH = "mixed_batch"
    NAME_ABBREVIATED = "name_abbreviated"
    NO_CA = "no_ca"
    NO_CHECKPOINT = "no_checkpoint"
    NO_LOT_RELEASE = "no_lot_release"
    NO_READINGS = "no_readings"
    NO_RULE = "no_rule"
    NO_RULES_IN_FORCE = "no_rules_in_force"
    NO_TEMPERATURE_RECORD = "no_temperature_record"
    NOT_A_CDC = "not_a_cdc"
    NOT_A_DEAD_LETTER = "not_a_dead_letter"
    NOT_A_HOLDER = "not_a_holder"
    NOT_A_LOWER_CDC = "not_a_lower_cdc"
    NOT_A_PROVINCE_UNIT = "not_a_province_unit"
    NOT_A_REGULATOR = "not_a_regulator"
    NOT_A_SYSTEM_CERTIFICATE = "not_a_system_certificate"
    NOT_A_TRACE_SYSTEM = "not_a_trace_system"
    NOT_COMMISSIONED = "not_commissioned"
    NOT_HELD = "not_held"
    NOT_IN_CODING_RULE = "not_in_coding_rule"
    NOT_IN_CONTAINER = "not_in_container"
    NOT_IN_RECALL = "not_in_recall"
    NOT_IN_YOUR_STOCK = "not_in_your_stock"
    NOT_LOT_RELEASED = "not_lot_released"
    NOT_OUR_CERTIFICATE = "not_our_certificate"
    NOT_OUR_CHECKPOINT = "not_our_checkpoint"
    NOT_REPRESENTED = "not_represented"
    NOT_SELF_INSPECTED = "not_self_inspected"
    NOT_THE_PLATFORM = "not_the_platform"
    NOT_THE_RECORDER = "not_the_recorder"
    NOT_THE_SUPPLIER = "not_the_supplier"
    NOT_UP_THE_CHAIN = "not_up_the_chain"
    NOT_YOUR_EXCURSION = "not_your_excursion"
    NOT_YOUR_PRODUCT = "not_your_product"
    NOTE_CLOSED = "note_closed"
    NOTHING_NEW = "nothing_new"
    NOTHING_SCANNED = "nothing_scanned"
    OUT_OF_RANGE = "out_of_range"
    OUTSIDE_JURISDICTION = "outside_jurisdiction"
    OVER_CAPACITY = "over_capacity"
    OVERLAPPING_RULE = "overlapping_rule"
    OWNER_FAILED = "owner_failed"
    OWNER_MISMATCH = "owner_mismatch"
    OWNER_UNAVAILABLE = "owner_unavailable"
    OWNER_UNREACHABLE = "owner_unreachable"
    PAYLOAD_MISMATCH = "payload_mismatch"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    PLATFORM_FAILED = "platform_failed"
    PLATFORM_UNAVAILABLE = "platform_unavailable"
    PLATFORM_UNREACHABLE = "platform_unreachable"
    PRODUCT_EXISTS = "product_exists"
    QUANTITY_MISMATCH = "quantity_mismatch"
    READING_CONFLICT = "reading_conflict"
    READING_IN_THE_FUTURE = "reading_in_the_future"
    READINGS_OUT_OF_ORDER = "readings_out_of_order"
    RECALL_CLOSED = "recall_closed"
    RECALL_EXISTS = "recall_exists"
    RECALLED = "recalled"
    RETURN_NOT_TO_CDC = "return_not_to_cdc"
    RETURN_TO_SELF = "return_to_self"
    RETURNED = "returned"
    SCRAPPED = "scrapped"
    SENDER_MISMATCH = "sender_mismatch"
    SHIPPING_NOTE_EXISTS = "shipping_note_exists"
    STALE_SEQUENCE = "stale_sequence"
    STOCK_CHANGED = "stock_changed"
    SUPPLIER_NOT_CDC = "supplier_not_cdc"
    SUPPLY_TO_SELF = "supply_to_self"
    TEMPERATURE_OUT_OF_RANGE = "temperature_out_of_range"
    TERMINAL_STATUS = "terminal_status"
    TIME_OUT_OF_RANGE = "time_out_of_range"
    TIME_WITHOUT_TIMEZONE = "time_without_timezone"
    TIMEZONE_MISSING = "timezone_missing"
    TOO_DEEPLY_NESTED = "too_deeply_nested"
    TWO_PARENTS = "two_parents"
    UNDO_WINDOW_PASSED = "undo_window_passed"
    UNKNOWN_ALERT = "unknown_alert"
    UNKNOWN_BATCH = "unknown_batch"
    UNKNOWN_CODE = "unknown_code"
    UNKNOWN_CONSIGNEE = "unknown_consignee"
    UNKNOWN_DOCUMENT = "unknown_document"
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_EXCURSION = "unknown_excursion"
    UNKNOWN_IDENTIFICATION_CODE = "unknown_identification_code"
    UNKNOWN_KEY = "unknown_key"
    UNKNOWN_LOG = "unknown_log"
    UNKNOWN_MAH = "unknown_mah"
    UNKNOWN_NOTE = "unknown_note"
    UNKNOWN_ORGANISATION = "unknown_organisation"
    UNKNOWN_PARENT = "unknown_parent"
    UNKNOWN_PRODUCT = "unknown_product"
    UNKNOWN_PRODUCT_CLASS = "unknown_product_class"
    UNKNOWN_RECALL = "unknown_recall"
    UNKNOWN_REGULATOR = "unknown_regulator"
    UNKNOWN_SYSTEM = "unknown_system"
    UNKNOWN_VACCINATION = "unknown_vaccination"
    UNKNOWN_VACCINE = "unknown_vaccine"
    UNKNOWN_WITNESS = "unknown_witness"
    UNREADABLE_BODY = "unreadable_body"
    UNSIGNED_ENVELOPE = "unsigned_envelope"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    UNSUPPORTED_VERSION = "unsupported_version"
    WRITE_CONFLICT = "write_conflict"
    WRONG_CONSIGNEE = "wrong_consignee"
    WRONG_ORGANISATION_KIND = "wrong_organisation_kind"
    WRONG_SENDER_ROLE = "wrong_sender_role"


class ScanReason(StrEnum):
    """What one receipt scan (扫码验收) found."""

    ON_NOTE = "on_note"  # listed on the note
    INSIDE_LISTED_CONTAINER = "inside_listed_container"  # the note says a listed case holds it
    ALREADY_SCANNED = "already_scanned"
    INSIDE_SCANNED_CONTAINER = "inside_scanned_container"  # its case or box was scanned
    NOT_ON_NOTE = "not_on_note"
    UNKNOWN_NOTE = Reason.UNKNOWN_NOTE.value
    NOTE_CLOSED = Reason.NOTE_CLOSED.value  # everything on the note was received already
    MALFORMED_CODE = "malformed_code"
    WRONG_CONSIGNEE = Reason.WRONG_CONSIGNEE.value  # the note is addressed to another unit


class DoseReason(StrEnum):
    """Why a dose may not be given (or moved), machine-readable."""

    UNKNOWN_CODE = Reason.UNKNOWN_CODE.value  # never received in this province
    NOT_HELD = Reason.NOT_HELD.value  # another unit holds it
    NOT_A_DOSE = "not_a_dose"  # a box or case: scan the dose
    ALREADY_USED = Reason.ALREADY_USED.value
    OUT_OF_STOCK = "out_of_stock"  # damaged, returned, destroyed here
    IN_TRANSIT = "receipt_not_confirmed"  # the unit never confirmed the receipt it came in
    STATUS_NOT_NORMAL = "status_not_normal"  # the MAH marked it damaged, destroyed, suspended…
    LOCKED = Reason.LOCKED.value  # 待定 / 待召回 / 异常
    RECALLED = Reason.RECALLED.value  # 召回中 / 已召回
    EXPIRED = Reason.EXPIRED.value
    NO_BATCH_DATA = "no_batch_data"  # the province has no batch record to check expiry against
    NO_LOT_RELEASE = Reason.NO_LOT_RELEASE.value  # no lot-release certificate (批签发) on file
    LOT_MISMATCH = "lot_mismatch"  # the label's batch contradicts the record
    EXPIRY_MISMATCH = "expiry_mismatch"  # the label's expiry contradicts the record
    COLD_CHAIN_EXCURSION = "cold_chain_excursion"


class DoseWarning(StrEnum):
    """What a nurse should know though the dose may be given."""

    EXPIRES_TODAY = "expires_today"  # usable through today (有效期至 is inclusive)
