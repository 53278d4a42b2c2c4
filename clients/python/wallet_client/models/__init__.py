"""Contains all the data models used in inputs/outputs"""

from .amount_input import AmountInput
from .amount_input_metadata import AmountInputMetadata
from .approval_envelope import ApprovalEnvelope
from .approval_kind_enum import ApprovalKindEnum
from .approval_output import ApprovalOutput
from .approval_output_metadata import ApprovalOutputMetadata
from .approval_output_request import ApprovalOutputRequest
from .approval_output_result import ApprovalOutputResult
from .approval_page import ApprovalPage
from .approval_status_enum import ApprovalStatusEnum
from .approvals_list_kind import ApprovalsListKind
from .approvals_list_status import ApprovalsListStatus
from .approve_input import ApproveInput
from .attempt_output import AttemptOutput
from .balance_at_envelope import BalanceAtEnvelope
from .balance_at_output import BalanceAtOutput
from .batch_envelope import BatchEnvelope
from .batch_input import BatchInput
from .batch_item_output import BatchItemOutput
from .batch_item_output_error_type_0 import BatchItemOutputErrorType0
from .batch_item_output_status_enum import BatchItemOutputStatusEnum
from .batch_output import BatchOutput
from .capture_envelope import CaptureEnvelope
from .capture_input import CaptureInput
from .capture_input_metadata import CaptureInputMetadata
from .capture_output import CaptureOutput
from .completed_status_enum import CompletedStatusEnum
from .currency_enum import CurrencyEnum
from .delivery_detail_output import DeliveryDetailOutput
from .delivery_detail_output_payload import DeliveryDetailOutputPayload
from .delivery_output import DeliveryOutput
from .endpoint_create_input import EndpointCreateInput
from .endpoint_output import EndpointOutput
from .endpoint_with_secret_output import EndpointWithSecretOutput
from .error import Error
from .error_details import ErrorDetails
from .event_type_enum import EventTypeEnum
from .history_event_output import HistoryEventOutput
from .history_event_output_metadata_type_0 import HistoryEventOutputMetadataType0
from .history_event_page import HistoryEventPage
from .hold_envelope import HoldEnvelope
from .hold_input import HoldInput
from .hold_input_metadata import HoldInputMetadata
from .hold_output import HoldOutput
from .hold_output_metadata import HoldOutputMetadata
from .hold_page import HoldPage
from .hold_status_enum import HoldStatusEnum
from .ledger_transaction_envelope import LedgerTransactionEnvelope
from .ledger_transaction_output import LedgerTransactionOutput
from .ledger_transaction_output_kind_enum import LedgerTransactionOutputKindEnum
from .ledger_transaction_output_metadata import LedgerTransactionOutputMetadata
from .leg_input import LegInput
from .leg_input_metadata import LegInputMetadata
from .leg_output import LegOutput
from .leg_output_metadata import LegOutputMetadata
from .multi_leg_input import MultiLegInput
from .multi_leg_input_metadata import MultiLegInputMetadata
from .patched_endpoint_update_input import PatchedEndpointUpdateInput
from .reject_input import RejectInput
from .reverse_input import ReverseInput
from .statement import Statement
from .statement_entry_output import StatementEntryOutput
from .statement_page import StatementPage
from .transaction_output import TransactionOutput
from .transaction_output_metadata import TransactionOutputMetadata
from .transaction_page import TransactionPage
from .transfer_envelope import TransferEnvelope
from .transfer_input import TransferInput
from .transfer_input_metadata import TransferInputMetadata
from .type_enum import TypeEnum
from .user_activity_list_event_type_item import UserActivityListEventTypeItem
from .wallet_create_input import WalletCreateInput
from .wallet_envelope import WalletEnvelope
from .wallet_history_list_event_type_item import WalletHistoryListEventTypeItem
from .wallet_holds_list_status import WalletHoldsListStatus
from .wallet_output import WalletOutput
from .wallet_page import WalletPage
from .wallet_statement_get_format import WalletStatementGetFormat
from .wallet_status_enum import WalletStatusEnum
from .webhook_delivery_detail_envelope import WebhookDeliveryDetailEnvelope
from .webhook_delivery_envelope import WebhookDeliveryEnvelope
from .webhook_delivery_page import WebhookDeliveryPage
from .webhook_endpoint_deleted_envelope import WebhookEndpointDeletedEnvelope
from .webhook_endpoint_deleted_envelope_data import WebhookEndpointDeletedEnvelopeData
from .webhook_endpoint_envelope import WebhookEndpointEnvelope
from .webhook_endpoint_page import WebhookEndpointPage
from .webhook_endpoint_secret_envelope import WebhookEndpointSecretEnvelope

__all__ = (
    "AmountInput",
    "AmountInputMetadata",
    "ApprovalEnvelope",
    "ApprovalKindEnum",
    "ApprovalOutput",
    "ApprovalOutputMetadata",
    "ApprovalOutputRequest",
    "ApprovalOutputResult",
    "ApprovalPage",
    "ApprovalsListKind",
    "ApprovalsListStatus",
    "ApprovalStatusEnum",
    "ApproveInput",
    "AttemptOutput",
    "BalanceAtEnvelope",
    "BalanceAtOutput",
    "BatchEnvelope",
    "BatchInput",
    "BatchItemOutput",
    "BatchItemOutputErrorType0",
    "BatchItemOutputStatusEnum",
    "BatchOutput",
    "CaptureEnvelope",
    "CaptureInput",
    "CaptureInputMetadata",
    "CaptureOutput",
    "CompletedStatusEnum",
    "CurrencyEnum",
    "DeliveryDetailOutput",
    "DeliveryDetailOutputPayload",
    "DeliveryOutput",
    "EndpointCreateInput",
    "EndpointOutput",
    "EndpointWithSecretOutput",
    "Error",
    "ErrorDetails",
    "EventTypeEnum",
    "HistoryEventOutput",
    "HistoryEventOutputMetadataType0",
    "HistoryEventPage",
    "HoldEnvelope",
    "HoldInput",
    "HoldInputMetadata",
    "HoldOutput",
    "HoldOutputMetadata",
    "HoldPage",
    "HoldStatusEnum",
    "LedgerTransactionEnvelope",
    "LedgerTransactionOutput",
    "LedgerTransactionOutputKindEnum",
    "LedgerTransactionOutputMetadata",
    "LegInput",
    "LegInputMetadata",
    "LegOutput",
    "LegOutputMetadata",
    "MultiLegInput",
    "MultiLegInputMetadata",
    "PatchedEndpointUpdateInput",
    "RejectInput",
    "ReverseInput",
    "Statement",
    "StatementEntryOutput",
    "StatementPage",
    "TransactionOutput",
    "TransactionOutputMetadata",
    "TransactionPage",
    "TransferEnvelope",
    "TransferInput",
    "TransferInputMetadata",
    "TypeEnum",
    "UserActivityListEventTypeItem",
    "WalletCreateInput",
    "WalletEnvelope",
    "WalletHistoryListEventTypeItem",
    "WalletHoldsListStatus",
    "WalletOutput",
    "WalletPage",
    "WalletStatementGetFormat",
    "WalletStatusEnum",
    "WebhookDeliveryDetailEnvelope",
    "WebhookDeliveryEnvelope",
    "WebhookDeliveryPage",
    "WebhookEndpointDeletedEnvelope",
    "WebhookEndpointDeletedEnvelopeData",
    "WebhookEndpointEnvelope",
    "WebhookEndpointPage",
    "WebhookEndpointSecretEnvelope",
)
