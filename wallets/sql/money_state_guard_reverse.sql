DROP TRIGGER hold_money_explained ON wallets_hold;
DROP FUNCTION wallets_check_hold_sender();
DROP TRIGGER hold_money_guard ON wallets_hold;
DROP FUNCTION wallets_guard_hold_row();
DROP TRIGGER wallet_money_explained ON wallets_wallet;
DROP FUNCTION wallets_check_wallet_after_update();
DROP FUNCTION wallets_check_wallet_state(uuid, boolean);
DROP TRIGGER wallet_money_guard ON wallets_wallet;
DROP FUNCTION wallets_guard_wallet_row();
